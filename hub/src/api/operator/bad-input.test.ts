import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { enrolledSite, raw, snapshotDb, startTestHub, type TestHub } from "../../test-support/harness.ts";

/**
 * Bad operator input: every refusal must say which field is wrong AND leave the database exactly
 * as it was (row counts and a hash of every row, per table).
 */
let t: TestHub;
beforeAll(async () => {
  t = await startTestHub();
  await enrolledSite(t, "eu-1", { labels: { region: "eu" } });
  await enrolledSite(t, "eu-2", { labels: { region: "eu" }, approve: false });
  await t.op.createRelease({ name: "web", version: "1", spec: {} });
});
afterAll(async () => { await t.stop(); });

interface Case { name: string; method: string; path: string; body?: string | Buffer | object; token?: string | null; status: number; code: string; issue?: string; message?: RegExp }
const api = (p: string) => `/api/v1${p}`;
const release = { name: "web", version: "2", spec: {} };

const cases: Case[] = [
  { name: "wrong type", method: "POST", path: api("/releases"), body: { ...release, name: 5 }, status: 400, code: "VALIDATION", issue: "name" },
  { name: "wrong nested type", method: "POST", path: api("/releases"), body: { ...release, spec: { ceph: { pools: [{ name: "p", size: "three" }] } } }, status: 400, code: "VALIDATION", issue: "spec.ceph.pools.0.size" },
  { name: "bad nested name", method: "POST", path: api("/releases"), body: { ...release, spec: { lxd: { instances: [{ name: "bad name", image: { alias: "d" } }] } } }, status: 400, code: "VALIDATION", issue: "spec.lxd.instances.0.name" },
  { name: "unknown field", method: "POST", path: api("/releases"), body: { ...release, colour: "red" }, status: 400, code: "VALIDATION", issue: "colour" },
  { name: "unknown nested field", method: "POST", path: api("/releases"), body: { ...release, spec: { lxd: { instancez: [] } } }, status: 400, code: "VALIDATION", issue: "spec.lxd.instancez" },
  { name: "2 MiB body", method: "POST", path: api("/releases"), body: { ...release, description: "x".repeat(2 * 1024 * 1024) }, status: 413, code: "PAYLOAD_TOO_LARGE" },
  { name: "invalid JSON", method: "POST", path: api("/releases"), body: "{\"name\": \"web\",", status: 400, code: "BAD_JSON" },
  { name: "invalid UTF-8 inside a JSON string", method: "POST", path: api("/releases"), body: Buffer.concat([Buffer.from('{"name":"web","version":"9","description":"caf'), Buffer.from([0xff]), Buffer.from('","spec":{}}')]), status: 400, code: "BAD_JSON", message: /UTF-8/ },
  { name: "JSON that is not an object", method: "POST", path: api("/releases"), body: "[1,2]", status: 400, code: "VALIDATION", issue: "(body)" },
  { name: "duplicate release", method: "POST", path: api("/releases"), body: { name: "web", version: "1", spec: {} }, status: 409, code: "RELEASE_EXISTS", message: /web@1/ },
  { name: "selector: unbalanced paren", method: "POST", path: api("/assignments"), body: { release: { name: "web", version: "1" }, selector: "a in (b" }, status: 400, code: "SELECTOR", issue: "selector", message: /a in \(b/ },
  { name: "selector: no key", method: "POST", path: api("/assignments"), body: { release: { name: "web", version: "1" }, selector: "=x" }, status: 400, code: "SELECTOR", issue: "selector", message: /=x/ },
  { name: "selector: k===", method: "POST", path: api("/assignments"), body: { release: { name: "web", version: "1" }, selector: "k===" }, status: 400, code: "SELECTOR", issue: "selector", message: /k===/ },
  { name: "assignment: maxSites 0", method: "POST", path: api("/assignments"), body: { release: { name: "web", version: "1" }, selector: "", maxSites: 0 }, status: 400, code: "VALIDATION", issue: "maxSites" },
  { name: "assignment: missing release", method: "POST", path: api("/assignments"), body: { selector: "region=eu" }, status: 400, code: "VALIDATION", issue: "release" },
  { name: "token: zero uses", method: "POST", path: api("/tokens"), body: { uses: 0 }, status: 400, code: "VALIDATION", issue: "uses" },
  { name: "token: bad label value", method: "POST", path: api("/tokens"), body: { labels: { region: "eu west" } }, status: 400, code: "VALIDATION", issue: "labels.region" },
  { name: "token: autoApprove as string", method: "POST", path: api("/tokens"), body: { autoApprove: "yes" }, status: 400, code: "VALIDATION", issue: "autoApprove" },
  { name: "labels: unknown site", method: "PATCH", path: api("/sites/nowhere/labels"), body: { set: { a: "b" } }, status: 404, code: "SITE_NOT_FOUND" },
  { name: "labels: set and remove the same key", method: "PATCH", path: api("/sites/eu-1/labels"), body: { set: { a: "b" }, remove: ["a"] }, status: 400, code: "VALIDATION", issue: "remove.0" },
  { name: "labels: unknown field", method: "PATCH", path: api("/sites/eu-1/labels"), body: { add: { a: "b" } }, status: 400, code: "VALIDATION", issue: "add" },
  { name: "approve: unknown site", method: "POST", path: api("/sites/nowhere/approve"), body: {}, status: 404, code: "SITE_NOT_FOUND" },
  { name: "approve: options it does not take", method: "POST", path: api("/sites/eu-2/approve"), body: { force: true }, status: 400, code: "VALIDATION", issue: "force" },
  { name: "site: not a site name", method: "GET", path: api("/sites/Bad_Name"), status: 400, code: "VALIDATION", issue: "site" },
  { name: "reports: limit 0", method: "GET", path: api("/reports?limit=0"), status: 400, code: "VALIDATION", issue: "limit" },
  { name: "reports: unknown parameter", method: "GET", path: api("/reports?sight=eu-1"), status: 400, code: "VALIDATION", issue: "sight" },
  { name: "no API token", method: "POST", path: api("/releases"), body: release, token: null, status: 401, code: "AUTH_MISSING" },
  { name: "wrong API token", method: "POST", path: api("/releases"), body: release, token: "opa_wrong", status: 401, code: "AUTH_INVALID" },
  { name: "unknown route", method: "GET", path: "/nope", status: 404, code: "NOT_FOUND" },
];

describe("bad operator input", () => {
  it.each(cases)("$name -> $status $code, database unchanged", async (c) => {
    const before = await snapshotDb(t.hub.db);
    const res = await raw(t.hub.url + c.path, c.token === undefined ? t.hub.adminToken : c.token, {
      method: c.method,
      headers: { "content-type": "application/json" },
      body: c.body === undefined ? undefined : typeof c.body === "string" ? c.body : Buffer.isBuffer(c.body) ? new Uint8Array(c.body) : JSON.stringify(c.body),
    });
    const body = (await res.json()) as { error: { code: string; message: string; issues?: { path: string; message: string }[] } };
    expect({ status: res.status, code: body.error.code }).toEqual({ status: c.status, code: c.code });
    expect(body.error.message.length).toBeGreaterThan(0);
    if (c.issue) expect(body.error.issues?.map((i) => i.path)).toContain(c.issue);
    if (c.issue && c.code === "VALIDATION") expect(body.error.message).toContain(c.issue);
    if (c.message) expect(body.error.message).toMatch(c.message);
    expect(await snapshotDb(t.hub.db)).toEqual(before);
  });

  it("an unexpected failure is a 500 with a request id, and changes nothing either", async () => {
    // A real fault: the releases table is gone (a broken migration, say), so assigning blows up mid-way.
    await t.hub.db.client.execute("ALTER TABLE releases RENAME TO releases_hidden");
    try {
      const res = await raw(`${t.hub.url}/api/v1/assignments`, t.hub.adminToken, { method: "POST", json: { release: { name: "web", version: "1" }, selector: "" } });
      expect(res.status).toBe(500);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe("INTERNAL");
      expect(body.error.message).toContain(res.headers.get("x-request-id")!);
      expect(body.error.message).not.toMatch(/releases|SQL/i); // internals stay in the log
    } finally {
      await t.hub.db.client.execute("ALTER TABLE releases_hidden RENAME TO releases");
    }
  });
});
