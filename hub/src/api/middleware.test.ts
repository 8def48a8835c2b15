import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestHub, type TestHub } from "../test-support/harness.ts";

let t: TestHub;
beforeAll(async () => { t = await startTestHub({ mqtt: false }); });
afterAll(async () => { await t.stop(); });

const post = (body: string, token = "wrong") =>
  fetch(`${t.hub.url}/api/v1/releases`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body });

describe("a request refused before its body was read", () => {
  // Found by test/faults: a 300 KB body with a bad token got its 401, then the hub dropped the
  // socket under the client's next request on it; a 10 MB body got EPIPE instead of its 413.
  it("gets its answer, and the connection stays good for the client's next request", async () => {
    const big = JSON.stringify({ name: "web", version: "1", spec: {}, description: "x".repeat(300_000) });
    for (let i = 0; i < 3; i++) {
      const refused = await post(big);
      expect(refused.status).toBe(401);
      await refused.text();
      const next = await post("{}");
      expect(next.status).toBe(401);
      await next.text();
    }
  });

  it("a 10 MB body refused for its declared length gets its 413, not a broken pipe", async () => {
    for (let i = 0; i < 3; i++) {
      const res = await post(`{"a":"${"x".repeat(10 * 1024 * 1024)}"}`, t.hub.adminToken!);
      expect(res.status).toBe(413);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("PAYLOAD_TOO_LARGE");
    }
  });
});
