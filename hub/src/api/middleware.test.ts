import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestHub, type TestHub } from "../test-support/harness.ts";

let t: TestHub;
beforeAll(async () => { t = await startTestHub({ mqtt: false }); });
afterAll(async () => { await t.stop(); });

describe("a request refused before its body was read", () => {
  // Found by test/faults/fuzz-operator-api.test.ts: a 300 KB body with a bad token got its 401 with
  // keep-alive, then the hub dropped the socket while the client's next request was on it.
  it("closes the connection, so the client's next request gets a fresh one and an answer", async () => {
    const big = JSON.stringify({ name: "web", version: "1", spec: {}, description: "x".repeat(300_000) });
    for (let i = 0; i < 3; i++) {
      const refused = await fetch(`${t.hub.url}/api/v1/releases`, { method: "POST", headers: { authorization: "Bearer wrong", "content-type": "application/json" }, body: big });
      expect(refused.status).toBe(401);
      expect(refused.headers.get("connection")).toBe("close");
      await refused.text();
      const next = await fetch(`${t.hub.url}/api/v1/releases`, { method: "POST", headers: { authorization: "Bearer wrong" }, body: "{}" });
      expect(next.status).toBe(401);
      await next.text();
    }
  });

  it("keeps the connection when the body was read", async () => {
    const res = await fetch(`${t.hub.url}/api/v1/releases`, { method: "POST", headers: { authorization: `Bearer ${t.hub.adminToken}`, "content-type": "application/json" }, body: "{}" });
    expect(res.status).toBe(400);
    expect(res.headers.get("connection")).toBe("keep-alive");
  });
});
