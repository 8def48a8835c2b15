import { eq } from "drizzle-orm";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { formatEnrollmentToken, parseEnrollmentToken } from "@outpost/shared";
import { enrollmentTokens } from "../../db/schema.ts";
import { newSite, snapshotDb, startTestHub, type TestHub } from "../../test-support/harness.ts";

let t: TestHub;
beforeEach(async () => { t = await startTestHub(); });
afterEach(async () => { await t.stop(); });

const usesLeft = async (id: string) =>
  (await t.hub.db.db.select().from(enrollmentTokens).where(eq(enrollmentTokens.id, id)))[0]!.usesLeft;

describe("POST /agent/v1/enroll", () => {
  it("a good token makes a pending site with the token's labels winning over the agent's", async () => {
    const { id, token } = await t.op.createToken({ labels: { region: "eu" }, uses: 2 });
    const s = await newSite(t, "site-a");
    const res = await s.client.enroll({ token, site: "site-a", publicKey: s.key.publicJwk, labels: { region: "us", rack: "r1" } });
    expect(res).toEqual({ site: "site-a", status: "pending" });
    const view = await t.op.getSite("site-a");
    expect(view).toMatchObject({ status: "pending", labels: { region: "eu", rack: "r1" }, bundleVersion: null });
    expect(await usesLeft(id)).toBe(1);
  });

  it("an autoApprove token makes the site approved at once", async () => {
    const { token } = await t.op.createToken({ autoApprove: true });
    const s = await newSite(t, "site-a");
    expect(await s.client.enroll({ token, site: "site-a", publicKey: s.key.publicJwk })).toEqual({ site: "site-a", status: "approved" });
    expect(await s.client.bundle(0, 0)).toEqual({ status: 204 });
  });

  it("re-enrolling with the same key answers the current status without spending a use", async () => {
    const { id, token } = await t.op.createToken({ uses: 1 });
    const s = await newSite(t, "site-a");
    await s.client.enroll({ token, site: "site-a", publicKey: s.key.publicJwk });
    await t.op.approveSite("site-a");
    const res = await fetch(`${t.hub.url}/agent/v1/enroll`, {
      method: "POST", headers: { "content-type": "application/json" },
      body: JSON.stringify({ token, site: "site-a", publicKey: s.key.publicJwk }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ site: "site-a", status: "approved" });
    expect(await usesLeft(id)).toBe(0);
  });

  it("another key for an existing site name is 409 SITE_EXISTS", async () => {
    const { token } = await t.op.createToken({ uses: 2 });
    const first = await newSite(t, "site-a");
    await first.client.enroll({ token, site: "site-a", publicKey: first.key.publicJwk });
    const impostor = await newSite(t, "site-a");
    await expect(impostor.client.enroll({ token, site: "site-a", publicKey: impostor.key.publicJwk }))
      .rejects.toMatchObject({ status: 409, code: "SITE_EXISTS" });
  });

  it("a removed site comes back only with a new key and a token of its project; the old key stays refused", async () => {
    const { token } = await t.op.createToken({ uses: 2 });
    const old = await newSite(t, "site-a");
    await old.client.enroll({ token, site: "site-a", publicKey: old.key.publicJwk });
    await t.op.approveSite("site-a");
    expect((await t.op.revokeSite("site-a")).status).toBe("revoked");
    await expect(old.client.bundle(0, 0)).rejects.toMatchObject({ status: 403, code: "AUTH_SITE_REVOKED" });
    // The old key enrolling again (a second use of the token, or a fresh one) changes nothing.
    expect(await old.client.enroll({ token, site: "site-a", publicKey: old.key.publicJwk })).toEqual({ site: "site-a", status: "revoked" });
    await t.op.createProject("other");
    const foreign = await newSite(t, "site-a");
    await expect(foreign.client.enroll({ token: (await t.op.inProject("other").createToken()).token, site: "site-a", publicKey: foreign.key.publicJwk }))
      .rejects.toMatchObject({ status: 409, code: "SITE_EXISTS" });

    const fresh = await newSite(t, "site-a");
    expect(await fresh.client.enroll({ token, site: "site-a", publicKey: fresh.key.publicJwk })).toEqual({ site: "site-a", status: "pending" });
    expect(await t.op.approveSite("site-a")).toMatchObject({ status: "approved", state: null, appliedVersion: null });
    expect(await fresh.client.bundle(0, 0)).toEqual({ status: 204 });
    await expect(old.client.bundle(0, 0)).rejects.toMatchObject({ status: 401, code: "AUTH_INVALID" });
  });

  it("refuses bad, tampered, expired and used-up tokens with 401 and creates nothing", async () => {
    const s = await newSite(t, "site-a");
    const enroll = (token: string) => s.client.enroll({ token, site: "site-a", publicKey: s.key.publicJwk });
    const { token, id } = await t.op.createToken();
    const parts = parseEnrollmentToken(token);
    const before = await snapshotDb(t.hub.db);

    await expect(enroll("not-a-token")).rejects.toMatchObject({ status: 401, code: "ENROLL_TOKEN_INVALID" });
    await expect(enroll(formatEnrollmentToken({ ...parts, secret: "x".repeat(43) }))).rejects.toMatchObject({ status: 401, code: "ENROLL_TOKEN_INVALID" });
    await expect(enroll(formatEnrollmentToken({ ...parts, id: "unknown0" }))).rejects.toMatchObject({ status: 401, code: "ENROLL_TOKEN_INVALID" });
    await expect(enroll(formatEnrollmentToken({ ...parts, rootHash: "ab".repeat(32) }))).rejects.toMatchObject({ status: 401, code: "ENROLL_ROOT_MISMATCH" });
    expect(await snapshotDb(t.hub.db)).toEqual(before);

    await t.hub.db.write((db) => db.update(enrollmentTokens).set({ expiresAt: new Date(Date.now() - 1000) }).where(eq(enrollmentTokens.id, id)));
    await expect(enroll(token)).rejects.toMatchObject({ status: 401, code: "ENROLL_TOKEN_EXPIRED" });

    const single = await t.op.createToken({ uses: 1 });
    const other = await newSite(t, "site-b");
    await other.client.enroll({ token: single.token, site: "site-b", publicKey: other.key.publicJwk });
    await expect(enroll(single.token)).rejects.toMatchObject({ status: 401, code: "ENROLL_TOKEN_USED_UP" });
    expect((await t.op.listSites()).map((x) => x.name)).toEqual(["site-b"]);
  });

  it("a token made before a root rotation still enrolls (the agent walks forward from it)", async () => {
    const { token } = await t.op.createToken();
    await t.hub.keys.rotateRoot();
    const s = await newSite(t, "site-a");
    expect(await s.client.enroll({ token, site: "site-a", publicKey: s.key.publicJwk })).toMatchObject({ status: "pending" });
    const fresh = await t.op.createToken();
    expect(parseEnrollmentToken(fresh.token).rootHash).toBe((await t.hub.keys.currentRoot()).hash);
    expect(parseEnrollmentToken(fresh.token).rootHash).not.toBe(parseEnrollmentToken(token).rootHash);
  });

  it("refuses an invalid body with 400 naming the field", async () => {
    const res = await fetch(`${t.hub.url}/agent/v1/enroll`, {
      method: "POST", headers: { "content-type": "application/json" },
      body: JSON.stringify({ token: "x", site: "Not_A_DNS_Label", publicKey: { kty: "OKP", crv: "Ed25519", x: "a".repeat(43) } }),
    });
    expect(res.status).toBe(400);
    const body = await res.json();
    expect(body.error.code).toBe("VALIDATION");
    expect(body.error.issues.map((i: { path: string }) => i.path)).toEqual(["site"]);
  });
});
