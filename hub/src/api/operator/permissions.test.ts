import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ulid } from "ulid";
import { importPrivate, OperatorClient, PROJECT_HEADER, signReportsFile } from "@outpost/shared";
import { ensureProject, projectUser } from "../../test-support/access.ts";
import { newSite, raw, snapshotDb, startTestHub, type TestHub, type TestSite } from "../../test-support/harness.ts";
import { OPERATOR_ROUTES, routeKey, type OperatorRoute } from "./route-table.ts";

/**
 * The permission matrix, generated from the route table: every operator route x every kind of
 * caller -> the status that caller must get. A route added to the hub without a table entry stops
 * the hub from starting, and one with a path parameter this file has no fixture for fails here,
 * so no route escapes the matrix.
 *
 * Callers act in project `a` (X-Outpost-Project: a). "other admin" is project `b`'s admin reaching
 * into `a`. A caller allowed by the table must get the route's success status, or 409 when an
 * earlier row of the matrix already changed the same object (a release made twice, a rollout
 * already aborted); a refused caller gets 401/403 and the database is unchanged.
 */
type Caller = "no token" | "other project's admin" | "viewer" | "operator" | "admin" | "hub admin";
const CALLERS: Caller[] = ["no token", "other project's admin", "viewer", "operator", "admin", "hub admin"];
const RANK = { viewer: 0, operator: 1, admin: 2 } as const;

function expected(route: OperatorRoute, caller: Caller): "allowed" | 401 | 403 {
  if (caller === "no token") return 401;
  if (caller === "hub admin" || route.need === "caller") return "allowed";
  if (route.need === "hub-admin") return 403;
  if (caller === "other project's admin") return 403;
  return RANK[caller] >= RANK[route.need.role] ? "allowed" : 403;
}

let t: TestHub;
const tokens = new Map<Caller, string | null>();
let rolloutId = "";
let artifactSha = "";
let mSite: TestSite;
let enrollTokenId = "";

beforeAll(async () => {
  t = await startTestHub({ rolloutTickSeconds: 0 });
  await ensureProject(t, "a");
  await ensureProject(t, "b");
  for (const role of ["viewer", "operator", "admin"] as const) tokens.set(role, (await projectUser(t, "a", `a-${role}`, role)).token);
  tokens.set("other project's admin", (await projectUser(t, "b", "b-admin", "admin")).token);
  tokens.set("hub admin", t.hub.adminToken);
  tokens.set("no token", null);

  // Objects in project a for the routes that act on one.
  const a = t.op.inProject("a");
  const site = mSite = await newSite(t, "m-site");
  await site.client.enroll({ token: (await a.createToken()).token, site: "m-site", publicKey: site.key.publicJwk });
  await a.createRelease({ name: "web", version: "1.0.0", spec: {} });
  await a.approveSite("m-site");
  // Revoking is for good: it gets a site of its own, so m-site stays approved for the routes after it.
  const r = await newSite(t, "r-site");
  await r.client.enroll({ token: (await a.createToken()).token, site: "r-site", publicKey: r.key.publicJwk });
  enrollTokenId = (await a.createToken()).id;
  await a.assign({ name: "web", version: "1.0.0" }, "");
  artifactSha = (await a.uploadArtifact("fixture", new Uint8Array([9, 9, 9]))).sha256;
  rolloutId = (await a.createRollout({ release: { name: "web", version: "1.0.0" }, selector: "", strategy: { waves: ["100%"] } })).id;
  await projectUser(t, "a", "fixture-user", "viewer");
});
afterAll(async () => { await t?.stop(); });

/** Values for path parameters; a new parameter name without one fails the test that meets it. */
async function paramValue(name: string, route: OperatorRoute, token: string | null): Promise<string> {
  if (name === "site") return route.path.endsWith("/revoke") ? "r-site" : "m-site";
  if (name === "id" && route.path.startsWith("/tokens/")) return enrollTokenId;
  if (name === "user") return "fixture-user";
  if (name === "sha256") return artifactSha;
  if (name === "id" && route.path.startsWith("/rollouts/")) return rolloutId;
  // Revoking needs one of the caller's own tokens: make a throwaway one.
  if (name === "id" && route.path.startsWith("/api-tokens/")) {
    return token ? (await new OperatorClient(t.hub.url, token).createApiToken("matrix")).id : "01ARZ3NDEKTSV4RRFFQ69G5FAV";
  }
  throw new Error(`no fixture for path parameter :${name} of ${route.method} ${route.path}: add one to permissions.test.ts`);
}

/**
 * Bodies a static example cannot be: a reports file must carry the site's own signature. Every
 * other route sends its table example.
 */
async function bodyFor(route: OperatorRoute): Promise<unknown> {
  if (routeKey(route.method, route.path) === "POST /reports/import") {
    const report = { id: ulid(), at: new Date().toISOString(), kind: "event" as const, body: { type: "applied" as const, message: "matrix" } };
    return signReportsFile({ site: "m-site", createdAt: new Date().toISOString(), reports: [report] }, await importPrivate(mSite.key.privateJwk), "m-site");
  }
  return route.example ?? {};
}

/** Puts back what an earlier allowed call took away, so each allowed call meets the object it needs. */
async function prepare(route: OperatorRoute): Promise<void> {
  if (routeKey(route.method, route.path) === "DELETE /users/:user/role") await t.op.inProject("a").grantRole("fixture-user", "viewer");
}

async function call(route: OperatorRoute, token: string | null): Promise<number> {
  let path = route.path;
  for (const name of Object.keys(route.params ?? {})) path = path.replace(`:${name}`, encodeURIComponent(await paramValue(name, route, token)));
  const qs = route.exampleQuery ? `?${new URLSearchParams(route.exampleQuery)}` : "";
  const headers: Record<string, string> = { [PROJECT_HEADER]: "a" };
  let body: BodyInit | undefined;
  if (route.body === "octet-stream") { body = new Uint8Array([1, 2, 3]); headers["content-type"] = "application/octet-stream"; }
  else if (route.body) { body = JSON.stringify(await bodyFor(route)); headers["content-type"] = "application/json"; }
  const res = await raw(`${t.hub.url}/api/v1${path}${qs}`, token, { method: route.method, headers, body });
  await res.arrayBuffer();
  return res.status;
}

describe("permission matrix (every route in the route table x every kind of caller)", () => {
  it.each(OPERATOR_ROUTES.map((r) => [`${r.method} /api/v1${r.path}`, r] as const))("%s", async (_name, route) => {
    const wrong: string[] = [];
    for (const caller of CALLERS) {
      const want = expected(route, caller);
      if (want === "allowed") await prepare(route);
      const before = want === "allowed" ? null : await snapshotDb(t.hub.db);
      const got = await call(route, tokens.get(caller)!);
      const ok = want === "allowed" ? got === route.status || got === 200 || got === 409 : got === want;
      if (!ok) wrong.push(`${caller}: expected ${want === "allowed" ? `${route.status} (or 409)` : want}, got ${got}`);
      if (before) expect(await snapshotDb(t.hub.db), `${caller} was refused but changed the database`).toEqual(before);
    }
    expect(wrong).toEqual([]);
  });

  it("a caller with a role in no project sees no projects and gets 403 everywhere project-scoped", async () => {
    const loner = await projectUser(t, "b", "loner", "viewer");
    await t.op.inProject("b").revokeRole("loner");
    expect(await loner.op.listProjects()).toEqual([]);
    expect((await raw(`${t.hub.url}/api/v1/sites`, loner.token)).status).toBe(403);
    // An unknown project and a project one has no role in answer alike: names are not confirmed.
    const unknown = await raw(`${t.hub.url}/api/v1/sites`, tokens.get("viewer")!, { headers: { [PROJECT_HEADER]: "nope" } });
    const foreign = await raw(`${t.hub.url}/api/v1/sites`, tokens.get("viewer")!, { headers: { [PROJECT_HEADER]: "b" } });
    expect([unknown.status, foreign.status]).toEqual([403, 403]);
    expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe("NO_ROLE");
  });

  it("a malformed project header is a 400 naming the header", async () => {
    const res = await raw(`${t.hub.url}/api/v1/sites`, t.hub.adminToken, { headers: { [PROJECT_HEADER]: "Not A Project" } });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { issues: { path: string }[] } }).error.issues[0]!.path).toBe(PROJECT_HEADER);
  });
});
