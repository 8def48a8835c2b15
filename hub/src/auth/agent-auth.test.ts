import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signAgentJwt } from "@outpost/shared";
import { sites } from "../db/schema.ts";
import { enrolledSite, raw, startTestHub, type TestHub, type TestSite } from "../test-support/harness.ts";

let t: TestHub;
let a: TestSite;
let b: TestSite;
beforeAll(async () => {
  t = await startTestHub();
  a = await enrolledSite(t, "site-a");
  b = await enrolledSite(t, "site-b");
});
afterAll(async () => { await t.stop(); });

const bundleUrl = () => `${t.hub.url}/agent/v1/bundle?known=0&wait=0`;
const errorOf = async (res: Response) => ({ status: res.status, code: ((await res.json()) as { error: { code: string } }).error.code });

describe("agent request authentication", () => {
  it("a pending site gets 403 AUTH_SITE_PENDING until an operator approves it", async () => {
    const p = await enrolledSite(t, "site-p", { approve: false });
    await expect(p.client.bundle(0, 0)).rejects.toMatchObject({ status: 403, code: "AUTH_SITE_PENDING" });
    expect((await t.op.getSite("site-p")).lastSeenAt).not.toBeNull(); // seen, so the operator knows it is alive
    expect(await t.op.approveSite("site-p")).toMatchObject({ status: "approved" });
    expect(await p.client.bundle(0, 0)).toEqual({ status: 204 });
  });

  it("a revoked site gets 403 AUTH_SITE_REVOKED", async () => {
    const r = await enrolledSite(t, "site-r");
    await t.hub.db.write((db) => db.update(sites).set({ status: "revoked" }).where(eq(sites.name, "site-r")));
    await expect(r.client.bundle(0, 0)).rejects.toMatchObject({ status: 403, code: "AUTH_SITE_REVOKED" });
  });

  it("no token, garbage, or an unknown site: 401 with the matching code", async () => {
    expect(await errorOf(await raw(bundleUrl(), null))).toEqual({ status: 401, code: "AUTH_MISSING" });
    expect(await errorOf(await raw(bundleUrl(), "not.a.jwt"))).toEqual({ status: 401, code: "AUTH_MALFORMED" });
    const ghost = await signAgentJwt("ghost", a.key.privateJwk);
    expect(await errorOf(await raw(bundleUrl(), ghost))).toEqual({ status: 401, code: "AUTH_UNKNOWN_SITE" });
  });

  it("an expired token is 401 AUTH_INVALID", async () => {
    const old = await signAgentJwt("site-a", a.key.privateJwk, undefined, new Date(Date.now() - 10 * 60_000));
    expect(await errorOf(await raw(bundleUrl(), old))).toEqual({ status: 401, code: "AUTH_INVALID" });
  });

  it("a replayed token (same jti) is 401 AUTH_REPLAY the second time", async () => {
    const jwt = await signAgentJwt("site-a", a.key.privateJwk);
    expect((await raw(bundleUrl(), jwt)).status).toBe(204);
    expect(await errorOf(await raw(bundleUrl(), jwt))).toEqual({ status: 401, code: "AUTH_REPLAY" });
  });

  it("a token claiming site-a but signed with site-b's key is 401 AUTH_INVALID", async () => {
    const forged = await signAgentJwt("site-a", b.key.privateJwk);
    expect(await errorOf(await raw(bundleUrl(), forged))).toEqual({ status: 401, code: "AUTH_INVALID" });
  });
});
