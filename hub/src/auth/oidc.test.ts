import { generateKeyPair } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OperatorClient, PROJECT_HEADER } from "@outpost/shared";
import { ensureProject } from "../test-support/access.ts";
import { raw, startTestHub, type TestHub } from "../test-support/harness.ts";
import { startIssuer, type TestIssuer } from "../test-support/oidc-issuer.ts";
import { parseRoleMap } from "./oidc.ts";

/**
 * A real OIDC issuer run by the test (test-support/oidc-issuer.ts: node:http serving discovery,
 * a JWKS, authorize and token endpoints, keys from jose) and a real hub configured to trust it.
 * Tokens are signed there exactly as an identity provider would.
 */
let issuer: TestIssuer;
let t: TestHub;
const AUD = "outpost-hub";

beforeAll(async () => {
  issuer = await startIssuer();
  t = await startTestHub({
    oidc: { issuer: issuer.url, audience: AUD, groupsClaim: "groups", roleMap: parseRoleMap("fleet-a-ops=a:operator,fleet-admins=*:admin") },
  });
  await ensureProject(t, "a");
  await ensureProject(t, "b");
});
afterAll(async () => { await t?.stop(); await issuer?.close(); });

const as = (token: string, project = "a") => new OperatorClient(t.hub.url, token, { project });
async function status(token: string, path = "/api/v1/sites", project = "a"): Promise<{ status: number; code?: string; message?: string }> {
  const res = await raw(`${t.hub.url}${path}`, token, { headers: { [PROJECT_HEADER]: project } });
  const body = (await res.json()) as { error?: { code: string; message: string } };
  return { status: res.status, code: body.error?.code, message: body.error?.message };
}

describe("OIDC bearer tokens", () => {
  it("a valid token whose group maps to a project role gets that role there, and is audited as the subject", async () => {
    const token = await issuer.sign({ sub: "alice@idp", aud: AUD, groups: ["fleet-a-ops", "unrelated"] });
    const me = await as(token).whoami();
    expect(me).toMatchObject({ actor: "oidc:alice@idp", via: "oidc", hubAdmin: false, roles: { a: "operator" } });
    expect((await status(token)).status).toBe(200);
    const rel = await as(token).createRelease({ name: "oidc-made", version: "1", spec: {} });
    expect(rel.name).toBe("oidc-made");
    const audit = await t.op.inProject("a").audit({ actor: "oidc:alice@idp" });
    expect(audit.map((e) => [e.method, e.route, e.status])).toContainEqual(["POST", "/api/v1/releases", 201]);
  });

  it("the role is only as high as the group says, and only in its project", async () => {
    const token = await issuer.sign({ sub: "alice@idp", aud: AUD, groups: ["fleet-a-ops"] });
    expect((await status(token, "/api/v1/users")).status).toBe(403); // operator, not admin
    expect((await status(token, "/api/v1/sites", "b")).status).toBe(403);
  });

  it("a `*:admin` group is a hub admin: every project, and creating projects", async () => {
    const token = await issuer.sign({ sub: "root@idp", aud: AUD, groups: ["fleet-admins"] });
    expect((await status(token, "/api/v1/users", "b")).status).toBe(200);
    expect((await as(token).createProject("from-oidc")).name).toBe("from-oidc");
  });

  it("refuses a wrong audience, an expired token, an unknown key and a forged signature with 401", async () => {
    const other = await generateKeyPair("ES256");
    const cases = {
      "wrong audience": await issuer.sign({ sub: "x", aud: "some-other-app", groups: ["fleet-a-ops"] }),
      expired: await issuer.sign({ sub: "x", aud: AUD, groups: ["fleet-a-ops"] }, { expiresIn: Math.floor(Date.now() / 1000) - 600 }),
      "unknown key": await issuer.sign({ sub: "x", aud: AUD, groups: ["fleet-a-ops"] }, { key: other.privateKey, kid: "not-published" }),
      "forged signature": await issuer.sign({ sub: "x", aud: AUD, groups: ["fleet-a-ops"] }, { key: other.privateKey }),
    };
    const got = Object.fromEntries(await Promise.all(Object.entries(cases).map(async ([k, tok]) => [k, await status(tok)] as const)));
    for (const [k, r] of Object.entries(got)) expect(r).toMatchObject({ status: 401, code: k === "expired" ? "OIDC_EXPIRED" : "OIDC_INVALID" });
    expect(got["wrong audience"]!.message).toMatch(/aud/);
    expect(got.expired!.message).toMatch(/expired/);
    expect(got["unknown key"]!.message).toMatch(/key the issuer does not publish/);
  });

  it("a valid token without a mapped group gets in nowhere (403), and a token from another issuer is 401", async () => {
    const nobody = await issuer.sign({ sub: "bob@idp", aud: AUD, groups: ["marketing"] });
    expect(await status(nobody)).toMatchObject({ status: 403, code: "NO_ROLE" });
    const foreign = await startIssuer();
    try {
      const tok = await foreign.sign({ sub: "eve", aud: AUD, groups: ["fleet-admins"] });
      expect((await status(tok)).status).toBe(401);
    } finally { await foreign.close(); }
  });

  it("API tokens still work next to OIDC, and an OIDC caller cannot mint API tokens (it has no user)", async () => {
    expect((await status(t.hub.adminToken!)).status).toBe(200);
    const token = await issuer.sign({ sub: "alice@idp", aud: AUD, groups: ["fleet-a-ops"] });
    const res = await raw(`${t.hub.url}/api/v1/api-tokens`, token, { method: "POST", json: { name: "x" } });
    expect(res.status).toBe(403);
  });

  it("the role map refuses malformed entries by name", () => {
    expect(() => parseRoleMap("ops=eu")).toThrow(/'ops=eu' must be group=project:role/);
    expect(() => parseRoleMap("ops=eu:root")).toThrow(/role must be viewer, operator or admin/);
    expect(parseRoleMap(" a=x:viewer , b=*:admin ")).toEqual([{ group: "a", project: "x", role: "viewer" }, { group: "b", project: "*", role: "admin" }]);
  });
});
