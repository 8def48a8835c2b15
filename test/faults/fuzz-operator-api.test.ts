import fc from "fast-check";
import type { z } from "zod";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PROJECT_HEADER } from "@outpost/shared";
import { OPERATOR_ROUTES, type OperatorRoute } from "@outpost/hub/api/operator/route-table";
import { enrolledSite, startTestHub, type TestHub } from "@outpost/hub/test-support/harness";
import { ensureProject, projectUser } from "@outpost/hub/test-support/access";
import { recordCase } from "./report.ts";
import { FUZZ_SEED, HttpFuzzer, watchUnhandled, type FuzzRequest } from "./lib/fuzz-http.ts";
import { percentEncode } from "./lib/fuzz-url.ts";
import { fuzzInput, hostile, HOSTILE_STRINGS, jsonSchemaOf, shaped, toJsonText } from "./lib/fuzz-schema.ts";

/**
 * Property-based fuzzing of every operator route, driven by the route table (a route added there is
 * fuzzed without touching this file): its path parameters, query and body come from the route's own
 * zod schemas, shaped like valid input or mutated with hostile values, or are plain junk; callers
 * are mostly the hub admin (to get past the guard into the handlers), sometimes lesser or bogus.
 * For every request: never a 5xx, and a refused one leaves the database exactly as it was.
 */
const RUNS_PER_ROUTE = 45;

let t: TestHub;
let fuzzer: HttpFuzzer;
const unhandled = watchUnhandled();
const fixtures: Record<string, string[]> = {};
const callers: Record<string, string | null> = {};

beforeAll(async () => {
  // No rollout ticks and no broker: nothing but the fuzzed requests writes to the database.
  t = await startTestHub({ rolloutTickSeconds: 0, mqtt: false });
  await ensureProject(t, "a");
  callers["project viewer"] = (await projectUser(t, "default", "fz-viewer", "viewer")).token;
  callers["other project's admin"] = (await projectUser(t, "a", "fz-admin-a", "admin")).token;
  await enrolledSite(t, "fz-site", { labels: { tier: "canary" } });
  await enrolledSite(t, "fz-pending", { approve: false });
  await t.op.createRelease({ name: "web", version: "1.0.0", spec: {} });
  await t.op.assign({ name: "web", version: "1.0.0" }, "");
  const sha = (await t.op.uploadArtifact("fz-blob", new Uint8Array([1, 2, 3]))).sha256;
  const rollout = (await t.op.createRollout({ release: { name: "web", version: "1.0.0" }, selector: "", strategy: { waves: ["100%"] } })).id;
  const token = (await t.op.createApiToken("fz")).id;
  Object.assign(fixtures, { site: ["fz-site", "fz-pending"], user: ["fz-viewer"], sha256: [sha], id: [rollout, token] });
  fuzzer = new HttpFuzzer(t.hub.url, t.hub.db);
});
afterAll(async () => { unhandled.stop(); await t?.stop(); });

const enc = percentEncode;

function paramArb(name: string, schema: z.ZodType): fc.Arbitrary<string> {
  const known = fixtures[name] ?? [];
  return fc.oneof(
    { weight: known.length ? 4 : 0, arbitrary: known.length ? fc.constantFrom(...known) : fc.constant("x") },
    { weight: 2, arbitrary: shaped(jsonSchemaOf(schema)).map((v) => String(v)) },
    { weight: 1, arbitrary: hostile.map((v) => (typeof v === "string" ? v : JSON.stringify(v) ?? "")) },
  ).map(enc);
}

function queryArb(route: OperatorRoute): fc.Arbitrary<string> {
  const fromSchema = route.query ? fuzzInput(jsonSchemaOf(route.query)) : fc.constant({});
  const junk = fc.dictionary(fc.constantFrom(...HOSTILE_STRINGS.slice(0, 12), "limit", "site"), fc.constantFrom(...HOSTILE_STRINGS), { maxKeys: 2 });
  return fc.tuple(fromSchema, fc.oneof({ weight: 4, arbitrary: fc.constant({}) }, { weight: 1, arbitrary: junk }), fc.boolean()).map(([q, extra, example]) => {
    const all = { ...(example ? route.exampleQuery : {}), ...(q && typeof q === "object" && !Array.isArray(q) ? q : {}), ...extra };
    const parts = Object.entries(all).map(([k, v]) => `${enc(k)}=${enc(v)}`);
    return parts.length ? `?${parts.join("&")}` : "";
  });
}

const invalidUtf8 = (text: string) => { const b = Buffer.from(text, "utf8"); const i = Math.floor(b.length / 2); return new Uint8Array(Buffer.concat([b.subarray(0, i), Buffer.from([0xff, 0xc3, 0x28]), b.subarray(i)])); };

function bodyArb(route: OperatorRoute): fc.Arbitrary<{ body?: string | Uint8Array; type?: string }> {
  if (route.method === "GET") return fc.constant({}); // fetch sends no body with a GET
  if (route.body === undefined) return fc.oneof({ weight: 5, arbitrary: fc.constant({}) }, { weight: 1, arbitrary: hostile.map((v) => ({ body: toJsonText(v), type: "application/json" })) });
  if (route.body === "octet-stream") {
    return fc.tuple(fc.uint8Array({ maxLength: 64 }), fc.constantFrom("application/octet-stream", "application/octet-stream; charset=binary", "application/json", "text/plain", undefined))
      .map(([b, type]) => ({ body: b, type }));
  }
  const schema = jsonSchemaOf(route.body);
  const text = fc.oneof(
    { weight: 8, arbitrary: fuzzInput(schema).map(toJsonText) },
    { weight: 1, arbitrary: fc.constant(JSON.stringify(route.example ?? {})) },
    { weight: 1, arbitrary: fc.oneof(fc.string(), fc.constantFrom("", "{", "[", "null", "1e999", '{"a":1,"a":2}', "\u0000")) },
    { weight: 1, arbitrary: fuzzInput(schema).map((v) => toJsonText(v).slice(0, -1)) },
  );
  return fc.tuple(text, fc.constantFrom("application/json", "application/json", "application/json", "text/plain", undefined), fc.nat({ max: 9 }))
    .map(([body, type, n]) => ({ body: n === 0 ? invalidUtf8(body) : body, type }));
}

function requestArb(route: OperatorRoute): fc.Arbitrary<FuzzRequest> {
  const params = Object.entries(route.params ?? {});
  const caller = fc.oneof(
    { weight: 8, arbitrary: fc.constant(t.hub.adminToken) },
    { weight: 1, arbitrary: fc.constantFrom(...Object.values(callers)) },
    { weight: 1, arbitrary: fc.oneof(fc.constantFrom(null, "opa_nope", "Bearer", "eyJhbGciOiJub25lIn0.e30."), fc.constantFrom(...HOSTILE_STRINGS.filter((s) => !/[\r\n\u0000-\u001f\u007f-\uffff]/.test(s)))) },
  );
  const project = fc.oneof({ weight: 6, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constant("a") },
    { weight: 1, arbitrary: fc.constantFrom(...HOSTILE_STRINGS.filter((s) => !/[\r\n\u0000-\u001f\u007f-\uffff]/.test(s))) });
  return fc.tuple(fc.tuple(...params.map(([n, s]) => paramArb(n, s))), queryArb(route), bodyArb(route), caller, project).map(([values, qs, b, token, proj]) => {
    let path = route.path;
    params.forEach(([n], i) => { path = path.replace(`:${n}`, values[i]!); });
    const headers: Record<string, string> = {};
    if (token) headers.authorization = `Bearer ${token}`;
    if (proj !== undefined) headers[PROJECT_HEADER] = proj;
    if (b.type) headers["content-type"] = b.type;
    return { method: route.method, path: `/api/v1${path}${qs}`, headers, ...(b.body === undefined ? {} : { body: b.body }) };
  });
}

describe("fuzzing every operator route from the route table", () => {
  it.each(OPERATOR_ROUTES.map((r) => [`${r.method} /api/v1${r.path}`, r] as const))("%s: no 5xx, refusals change nothing", async (_n, route) => {
    await fc.assert(fc.asyncProperty(requestArb(route), async (req) => { await fuzzer.send(req); }), { seed: FUZZ_SEED, numRuns: RUNS_PER_ROUTE });
  });

  it("recorded: no unhandled rejection, and the figures", () => {
    expect(unhandled.errors).toEqual([]);
    fuzzer.expectClean(OPERATOR_ROUTES.length * RUNS_PER_ROUTE);
    recordCase({
      id: "fuzz-operator-api",
      section: "Bad input",
      title: "Property-based fuzzing of every operator route (route table)",
      done: `fast-check (seed ${FUZZ_SEED}) sent ${RUNS_PER_ROUTE} requests to each of the ${OPERATOR_ROUTES.length} routes of hub/src/api/operator/route-table.ts: path parameters, query and JSON body generated from each route's zod schemas (valid-shaped, or with one node replaced by a hostile value, removed or joined by an unknown key), junk bodies, truncated JSON, invalid UTF-8, wrong content types; callers mostly the hub admin, sometimes a viewer, another project's admin, a bogus or missing token, a hostile project header.`,
      checked: "Every answer below 500; after every refused (4xx) request the hub's database hashed table by table equals its state before; no unhandled rejection in the hub's process.",
      figures: { "routes fuzzed": OPERATOR_ROUTES.length, ...fuzzer.figures(), "unhandled rejections": unhandled.count(), seed: FUZZ_SEED },
      totals: { inputsTried: fuzzer.inputs, serverErrors: fuzzer.serverErrors },
    });
  });
});
