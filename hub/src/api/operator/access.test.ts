import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HubError, PROJECT_HEADER } from "@outpost/shared";
import { ensureProject, projectUser, type TestUser } from "../../test-support/access.ts";
import { newSite, raw, snapshotDb, startTestHub, type TestHub } from "../../test-support/harness.ts";

/** Projects, users and API tokens as operators meet them: isolation, revocation, expiry, the audit log. */
let t: TestHub;
let aAdmin: TestUser;
let bAdmin: TestUser;
beforeAll(async () => {
  t = await startTestHub({ rolloutTickSeconds: 0 });
  await ensureProject(t, "a");
  await ensureProject(t, "b");
  aAdmin = await projectUser(t, "a", "ann", "admin");
  bAdmin = await projectUser(t, "b", "bob", "admin");
});
afterAll(async () => { await t?.stop(); });

const refusal = (p: Promise<unknown>) => p.then(() => null, (e: HubError) => ({ status: e.status, code: e.code }));

describe("projects", () => {
  it("nothing crosses projects: B's admin neither sees nor touches A's sites, releases or rollouts (404, not 403)", async () => {
    const site = await newSite(t, "a-site");
    await site.client.enroll({ token: (await aAdmin.op.createToken({ autoApprove: true })).token, site: "a-site", publicKey: site.key.publicJwk });
    await aAdmin.op.createRelease({ name: "web", version: "1", spec: {} });
    const ro = await aAdmin.op.createRollout({ release: { name: "web", version: "1" }, selector: "", strategy: { waves: ["100%"] } });

    expect((await bAdmin.op.listSites()).map((s) => s.name)).toEqual([]);
    expect(await bAdmin.op.listReleases()).toEqual([]);
    expect(await bAdmin.op.listRollouts()).toEqual([]);
    const before = await snapshotDb(t.hub.db);
    expect(await refusal(bAdmin.op.getSite("a-site"))).toEqual({ status: 404, code: "SITE_NOT_FOUND" });
    expect(await refusal(bAdmin.op.labelSite("a-site", { x: "y" }))).toEqual({ status: 404, code: "SITE_NOT_FOUND" });
    expect(await refusal(bAdmin.op.rolloutAction(ro.id, "start"))).toEqual({ status: 404, code: "ROLLOUT_NOT_FOUND" });
    expect(await refusal(bAdmin.op.assign({ name: "web", version: "1" }, ""))).toMatchObject({ status: 404 });
    expect(await snapshotDb(t.hub.db)).toEqual(before);
    // The same release name is B's own business.
    await bAdmin.op.createRelease({ name: "web", version: "1", spec: {} });
    expect((await aAdmin.op.listSites()).map((s) => [s.name, s.status])).toEqual([["a-site", "approved"]]);
  });

  it("only a hub admin creates projects; a project name is checked and unique", async () => {
    expect(await refusal(aAdmin.op.createProject("c"))).toEqual({ status: 403, code: "FORBIDDEN" });
    expect(await refusal(t.op.createProject("a"))).toMatchObject({ status: 409, code: "PROJECT_EXISTS" });
    const res = await raw(`${t.hub.url}/api/v1/projects`, t.hub.adminToken, { method: "POST", json: { name: "Bad Name" } });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { issues: { path: string }[] } }).error.issues.map((i) => i.path)).toEqual(["name"]);
  });
});

describe("users and roles", () => {
  it("a grant takes effect on the next call and a revoke ends access; roles are per project", async () => {
    const carl = await projectUser(t, "a", "carl", "viewer");
    expect(await refusal(carl.op.createRelease({ name: "c", version: "1", spec: {} }))).toMatchObject({ status: 403 });
    await aAdmin.op.grantRole("carl", "operator");
    expect((await carl.op.createRelease({ name: "c", version: "1", spec: {} })).name).toBe("c");
    expect(await refusal(carl.op.inProject("b").listSites())).toMatchObject({ status: 403, code: "NO_ROLE" });
    await bAdmin.op.grantRole("carl", "viewer");
    expect(await carl.op.inProject("b").listSites()).toEqual([]);
    await aAdmin.op.revokeRole("carl");
    expect(await refusal(carl.op.listSites())).toMatchObject({ status: 403, code: "NO_ROLE" });
    expect((await aAdmin.op.listUsers()).map((u) => u.name)).not.toContain("carl");
  });

  it("bad input names the field and changes nothing", async () => {
    const before = await snapshotDb(t.hub.db);
    for (const [json, field] of [[{ name: "dave", role: "root" }, "role"], [{ name: "Dave!", role: "viewer" }, "name"], [{ name: "dave", role: "viewer", extra: 1 }, "extra"]] as const) {
      const res = await raw(`${t.hub.url}/api/v1/users`, aAdmin.token, { method: "POST", json, headers: { [PROJECT_HEADER]: "a" } });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { issues: { path: string }[] } }).error.issues.map((i) => i.path)).toContain(field);
    }
    expect(await refusal(aAdmin.op.createUser("bob", "viewer"))).toMatchObject({ status: 409, code: "USER_EXISTS" });
    expect(await snapshotDb(t.hub.db)).toEqual(before);
  });
});

describe("revoking what a project trusts", () => {
  it("a revoked site's key is refused from its next call on, and it cannot be approved back", async () => {
    const site = await newSite(t, "lost-site");
    await site.client.enroll({ token: (await aAdmin.op.createToken({ autoApprove: true })).token, site: "lost-site", publicKey: site.key.publicJwk });
    expect((await site.client.bundle(0, 0)).status).toBe(204); // trusted: nothing issued yet
    expect(await refusal(bAdmin.op.revokeSite("lost-site"))).toEqual({ status: 404, code: "SITE_NOT_FOUND" }); // another project's admin
    const operator = await projectUser(t, "a", "olga", "operator");
    expect(await refusal(operator.op.revokeSite("lost-site"))).toMatchObject({ status: 403 }); // keys are for admins
    expect((await aAdmin.op.revokeSite("lost-site")).status).toBe("revoked");
    expect(await refusal(site.client.bundle(0, 0))).toMatchObject({ status: 403, code: "AUTH_SITE_REVOKED" });
    expect(await refusal(aAdmin.op.approveSite("lost-site"))).toMatchObject({ status: 409, code: "SITE_REVOKED" });
    expect((await aAdmin.op.revokeSite("lost-site")).status).toBe("revoked"); // again: no change, no error
  });

  it("a revoked enrollment token enrolls nobody; tokens are listed without their secrets", async () => {
    const created = await aAdmin.op.createToken({ uses: 5, labels: { batch: "7" } });
    const listed = (await aAdmin.op.listEnrollmentTokens()).find((x) => x.id === created.id);
    expect(listed).toMatchObject({ usesLeft: 5, usable: true, labels: { batch: "7" } });
    expect(JSON.stringify(await aAdmin.op.listEnrollmentTokens())).not.toContain(created.token.split(".").at(-1));
    expect((await bAdmin.op.listEnrollmentTokens()).some((x) => x.id === created.id)).toBe(false);
    expect(await refusal(bAdmin.op.revokeEnrollmentToken(created.id))).toEqual({ status: 404, code: "TOKEN_NOT_FOUND" });
    expect(await aAdmin.op.revokeEnrollmentToken(created.id)).toMatchObject({ usesLeft: 0, usable: false });
    const site = await newSite(t, "late-site");
    expect(await refusal(site.client.enroll({ token: created.token, site: "late-site", publicKey: site.key.publicJwk }))).toMatchObject({ status: 401 });
    expect((await aAdmin.op.listSites()).map((s) => s.name)).not.toContain("late-site");
  });
});

describe("API tokens", () => {
  it("are shown once, listed without the secret, stored only as sha256, and revocable", async () => {
    const created = await aAdmin.op.createApiToken("laptop", 7);
    expect(created.token).toMatch(/^opa_/);
    expect(Date.parse(created.expiresAt!) - Date.now()).toBeGreaterThan(6 * 86_400_000);
    const listed = await aAdmin.op.listApiTokens();
    expect(listed.find((x) => x.id === created.id)).toEqual({ id: created.id, name: "laptop", createdAt: created.createdAt, expiresAt: created.expiresAt, revokedAt: null });
    expect(JSON.stringify(listed)).not.toContain(created.token);
    // Neither this token, the users' nor the admin's is anywhere in the database file in clear.
    await t.hub.db.client.execute("PRAGMA wal_checkpoint(TRUNCATE)");
    const dbBytes = fs.readFileSync(path.join(t.dir, "hub.db")).toString("latin1");
    for (const secret of [created.token, aAdmin.token, t.hub.adminToken!]) expect(dbBytes).not.toContain(secret);

    const res = await raw(`${t.hub.url}/api/v1/sites`, created.token, { headers: { [PROJECT_HEADER]: "a" } });
    expect(res.status).toBe(200);
    expect((await aAdmin.op.revokeApiToken(created.id)).revokedAt).not.toBeNull();
    const after = await raw(`${t.hub.url}/api/v1/sites`, created.token, { headers: { [PROJECT_HEADER]: "a" } });
    expect([after.status, ((await after.json()) as { error: { code: string } }).error.code]).toEqual([401, "AUTH_REVOKED"]);
    // Someone else's token id is as unknown as a made-up one.
    expect(await refusal(bAdmin.op.revokeApiToken(created.id))).toMatchObject({ status: 404 });
  });

  it("stop working once expired", async () => {
    const created = await aAdmin.op.createApiToken("short", 1);
    // A day passing, without waiting a day: move the expiry into the past as time would.
    await t.hub.db.client.execute({ sql: "UPDATE api_tokens SET expires_at = ? WHERE id = ?", args: [Date.now() - 1000, created.id] });
    const res = await raw(`${t.hub.url}/api/v1/whoami`, created.token);
    expect([res.status, ((await res.json()) as { error: { code: string } }).error.code]).toEqual([401, "AUTH_EXPIRED"]);
  });

  it("the first start's admin token is the admin user's: a hub admin on every project", async () => {
    expect(await t.op.whoami()).toMatchObject({ actor: "user:admin", hubAdmin: true, via: "api-token" });
    expect((await t.op.listProjects()).map((p) => [p.name, p.role])).toEqual(expect.arrayContaining([["default", "admin"], ["a", "admin"], ["b", "admin"]]));
  });
});

describe("audit log", () => {
  it("records every mutating call with who, what, where from and the result, refusals included, and no reads", async () => {
    const viewer = await projectUser(t, "a", "vera", "viewer");
    await refusal(viewer.op.labelSite("a-site", { tier: "x" }));
    const res = await raw(`${t.hub.url}/api/v1/sites/a-site/labels`, aAdmin.token, { method: "PATCH", json: { set: { tier: "gold" } }, headers: { [PROJECT_HEADER]: "a" } });
    expect(res.status).toBe(200);
    await aAdmin.op.listSites();
    await raw(`${t.hub.url}/api/v1/sites/a-site/approve`, null, { method: "POST" });

    const entries = await aAdmin.op.audit({ limit: 20 });
    const labelCalls = entries.filter((e) => e.route === "/api/v1/sites/:site/labels");
    expect(labelCalls.map((e) => [e.actor, e.status, e.target, e.project])).toEqual([["user:ann", 200, "site=a-site", "a"], ["user:vera", 403, "site=a-site", "a"]]);
    expect(labelCalls[0]!.requestId).toBe(res.headers.get("x-request-id"));
    expect(labelCalls[0]!.sourceIp).toMatch(/127\.0\.0\.1/);
    expect(entries.some((e) => e.method === "GET")).toBe(false);
    // The enrollment at the top of this file, by the site itself.
    expect((await aAdmin.op.audit({ actor: "site:a-site" })).map((e) => [e.route, e.status])).toEqual([["/agent/v1/enroll", 201]]);
    // B's admin sees none of A's entries; an unauthenticated refusal has no project and only hub admins see it.
    expect((await bAdmin.op.audit()).every((e) => e.project === "b")).toBe(true);
    expect((await t.op.audit()).some((e) => e.actor === "anonymous" && e.status === 401)).toBe(true);
    expect(await refusal(viewer.op.audit())).toMatchObject({ status: 403 });
  });
});
