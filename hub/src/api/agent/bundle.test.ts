import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { signAgentJwt, verifyBundle } from "@outpost/shared";
import { agentTrust, enrolledSite, raw, startTestHub, type TestHub, type TestSite } from "../../test-support/harness.ts";

let t: TestHub;
let a: TestSite;
beforeEach(async () => {
  t = await startTestHub();
  a = await enrolledSite(t, "site-a", { labels: { region: "eu" } });
  await t.op.createRelease({ name: "web", version: "1", spec: {} });
  await t.op.createRelease({ name: "web", version: "2", spec: {} });
});
afterEach(async () => { await t.stop(); });

const assign = (version: string) => t.op.assign({ name: "web", version }, "region=eu");
const get = async (query: string, headers: Record<string, string> = {}, signal?: AbortSignal) =>
  raw(`${t.hub.url}/agent/v1/bundle?${query}`, await signAgentJwt("site-a", a.key.privateJwk), { headers, signal });

describe("GET /agent/v1/bundle (long-poll)", () => {
  it("answers 204 once `wait` has passed with nothing new", async () => {
    const started = Date.now();
    expect(await a.client.bundle(0, 1)).toEqual({ status: 204 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });

  it("answers 200 at once when a newer bundle exists, and the bundle verifies for this site", async () => {
    await assign("1");
    const started = Date.now();
    const got = await a.client.bundle(0, 30);
    expect(Date.now() - started).toBeLessThan(5000);
    if (got.status !== 200) throw new Error("expected a bundle");
    expect(got.version).toBe(1);
    const { payload } = await verifyBundle(await agentTrust(t, a), got.jws, new Date());
    expect(payload).toMatchObject({ site: "site-a", version: 1, release: { name: "web", version: "1" } });
  });

  it("wakes early when a release is assigned during the wait", async () => {
    await assign("1");
    const started = Date.now();
    const polling = a.client.bundle(1, 20);
    setTimeout(() => { void assign("2"); }, 300);
    const got = await polling;
    expect(got).toMatchObject({ status: 200, version: 2 });
    expect(Date.now() - started).toBeLessThan(10_000); // far short of the 20 s it could have held
  });

  it("sends ETag and version headers, and honours If-None-Match", async () => {
    await assign("1");
    const ok = await get("known=0&wait=0");
    expect(ok.status).toBe(200);
    expect(ok.headers.get("content-type")).toBe("application/jose");
    expect(ok.headers.get("etag")).toBe('"v1"');
    expect(ok.headers.get("x-outpost-bundle-version")).toBe("1");
    expect((await ok.text()).split(".")).toHaveLength(3);

    const notModified = await get("known=0&wait=0", { "if-none-match": '"v1"' });
    expect(notModified.status).toBe(304);
    expect(notModified.headers.get("etag")).toBe('"v1"');

    const unchanged = await get("known=1&wait=0");
    expect(unchanged.status).toBe(204);
    expect(unchanged.headers.get("etag")).toBe('"v1"');

    const stale = await get("known=0&wait=0", { "if-none-match": '"v0"' });
    expect(stale.status).toBe(200);
  });

  it("releases its subscription when the client disconnects mid-wait", async () => {
    const ac = new AbortController();
    const pending = get("known=0&wait=30", {}, ac.signal).catch((e: Error) => e);
    await waitFor(() => t.hub.notifier.listenerCount("site-a") === 1);
    ac.abort();
    expect(await pending).toBeInstanceOf(Error);
    await waitFor(() => t.hub.notifier.listenerCount("site-a") === 0);
  });

  it("refuses a bad query with 400 naming the parameter", async () => {
    for (const [query, path] of [["known=0&wait=61", "wait"], ["known=-1", "known"], ["known=0&color=red", "color"]] as const) {
      const res = await get(query);
      expect(res.status).toBe(400);
      const body = (await res.json()) as { error: { code: string; issues: { path: string }[] } };
      expect(body.error.code).toBe("VALIDATION");
      expect(body.error.issues[0]?.path).toBe(path);
    }
  });
});

describe("GET /agent/v1/artifacts/:sha256", () => {
  it("validates the digest (400) and, with no artifact store yet, answers 404", async () => {
    const fetchArtifact = async (digest: string) => raw(`${t.hub.url}/agent/v1/artifacts/${digest}`, await signAgentJwt("site-a", a.key.privateJwk));
    const bad = await fetchArtifact("not-a-digest");
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { issues: { path: string }[] } }).error.issues[0]?.path).toBe("sha256");
    const missing = await fetchArtifact("a".repeat(64));
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe("ARTIFACT_NOT_FOUND");
    expect((await raw(`${t.hub.url}/agent/v1/artifacts/${"a".repeat(64)}`, null)).status).toBe(401);
  });
});

async function waitFor(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}
