import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROLLOUT_ACTIONS } from "@outpost/shared";
import { enrolledSite, startTestHub, type TestHub } from "@outpost/hub/test-support/harness";
import { recordCase } from "./report.ts";
import { FUZZ_SEED, HttpFuzzer, watchUnhandled, type FuzzRequest } from "./lib/fuzz-http.ts";
import { hostile, HOSTILE_STRINGS } from "./lib/fuzz-schema.ts";
import { percentEncode } from "./lib/fuzz-url.ts";

/**
 * Property-based fuzzing of every route the hub serves outside the two APIs: the dashboard (/ui,
 * its forms, its event stream), /metrics, /healthz, /openapi.json, /api/docs. The list is the hub
 * app's own (`app.routes`), so a page added later is fuzzed too. Requests come signed in (the
 * session cookie), signed out, with a forged cookie, with the right Origin or another one, with
 * form, multipart, JSON or junk bodies. Never a 5xx; a refused request changes nothing.
 */
const RUNS_PER_ROUTE = 40;

let t: TestHub;
let fuzzer: HttpFuzzer;
let routes: { method: string; path: string }[] = [];
const unhandled = watchUnhandled();
const fixtures: Record<string, string[]> = {};

beforeAll(async () => {
  t = await startTestHub({ rolloutTickSeconds: 0, mqtt: false });
  await enrolledSite(t, "fz-ui");
  await t.op.createRelease({ name: "web", version: "1", spec: {} });
  const rollout = (await t.op.createRollout({ release: { name: "web", version: "1" }, selector: "", strategy: { waves: ["100%"] } })).id;
  Object.assign(fixtures, { site: ["fz-ui"], id: [rollout], action: [...ROLLOUT_ACTIONS] });
  const seen = new Set<string>();
  for (const r of t.hub.app.routes) {
    if (r.method === "ALL" || r.path.startsWith("/api/v1/") || r.path.startsWith("/agent/v1/") || seen.has(`${r.method} ${r.path}`)) continue;
    seen.add(`${r.method} ${r.path}`);
    routes.push({ method: r.method, path: r.path });
  }
  // Event streams stay open by design: their status is what counts, so their body is cut short.
  fuzzer = new HttpFuzzer(t.hub.url, t.hub.db, {}, 100);
});
afterAll(async () => { unhandled.stop(); await t?.stop(); });

const headerSafe = HOSTILE_STRINGS.filter((s) => s.length > 0 && !/[\r\n\u0000-\u001f\u007f-\uffff]/.test(s));
const FORM_FIELDS = ["token", "next", "release", "selector", "waves", "approval", "start", "metric"];

function requestArb(route: { method: string; path: string }): fc.Arbitrary<FuzzRequest> {
  const names = [...route.path.matchAll(/:([A-Za-z_]+)/g)].map((m) => m[1]!);
  const param = (n: string) => fc.oneof(
    { weight: 3, arbitrary: fixtures[n]?.length ? fc.constantFrom(...fixtures[n]!) : fc.constant("x") },
    { weight: 1, arbitrary: hostile.map((v) => (typeof v === "string" ? v : JSON.stringify(v) ?? "")) },
  ).map(percentEncode);
  const value = fc.oneof(fc.constantFrom("web@1", "1,100%", "manual", "1", "/ui/rollouts", "https://evil.example/", ""), fc.constantFrom(...HOSTILE_STRINGS));
  const form = fc.dictionary(fc.constantFrom(...FORM_FIELDS, "__proto__"), value, { maxKeys: 5 });
  const body = fc.oneof(
    { weight: 4, arbitrary: form.map((f) => ({ type: "application/x-www-form-urlencoded", body: Object.entries(f).map(([k, v]) => `${percentEncode(k)}=${percentEncode(v)}`).join("&") })) },
    { weight: 1, arbitrary: fc.tuple(form, fc.constantFrom("b0undary", "", "x".repeat(80))).map(([f, b]) => ({
      type: `multipart/form-data; boundary=${b}`,
      body: `${Object.entries(f).map(([k, v]) => `--${b}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`).join("")}--${b}--\r\n`,
    })) },
    { weight: 1, arbitrary: fc.tuple(fc.string({ unit: "binary", maxLength: 200 }), fc.constantFrom("multipart/form-data", "application/json", "text/plain", "application/x-www-form-urlencoded")).map(([b, type]) => ({ type, body: b })) },
  );
  const cookie = fc.oneof(
    { weight: 4, arbitrary: fc.constant(`outpost_session=${t.hub.adminToken}`) },
    { weight: 1, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: fc.constantFrom(...headerSafe).map((v) => `outpost_session=${percentEncode(v)}`) },
  );
  const origin = fc.oneof({ weight: 4, arbitrary: fc.constant(new URL(t.hub.url).origin) }, { weight: 1, arbitrary: fc.constantFrom(undefined, "https://evil.example", "null") });
  const bearer = fc.oneof({ weight: 2, arbitrary: fc.constant(t.hub.adminToken) }, { weight: 1, arbitrary: fc.constantFrom(undefined, ...headerSafe) });
  const query = fc.dictionary(fc.constantFrom("next", "metric", "limit", "before", ...headerSafe.slice(0, 5)), fc.constantFrom(...HOSTILE_STRINGS, "/ui", "process.rss_bytes"), { maxKeys: 2 })
    .map((q) => { const parts = Object.entries(q).map(([k, v]) => `${percentEncode(k)}=${percentEncode(v)}`); return parts.length ? `?${parts.join("&")}` : ""; });
  return fc.tuple(fc.tuple(...names.map(param)), query, body, cookie, origin, bearer).map(([vals, qs, b, c, o, auth]) => {
    const path = names.reduce((p, n, i) => p.replace(`:${n}`, vals[i]!), route.path);
    const headers: Record<string, string> = {};
    if (c) headers.cookie = c;
    if (o) headers.origin = o;
    if (auth) headers.authorization = `Bearer ${auth}`;
    const withBody = route.method !== "GET" && route.method !== "HEAD";
    if (withBody) headers["content-type"] = b.type;
    return { method: route.method, path: path + qs, headers, ...(withBody ? { body: b.body } : {}) };
  });
}

describe("fuzzing every other route the hub serves (dashboard, metrics, docs, health)", () => {
  it("has routes to fuzz beyond the two APIs", () => {
    expect(routes.map((r) => `${r.method} ${r.path}`)).toEqual(expect.arrayContaining(["GET /metrics", "POST /ui/login", "POST /ui/rollouts/:id/:action", "GET /ui/rollouts/:id/stream"]));
  });

  it("every such route: no 5xx, refusals change nothing", async () => {
    for (const route of routes) {
      await fc.assert(fc.asyncProperty(requestArb(route), async (req) => { await fuzzer.send(req); }), { seed: FUZZ_SEED, numRuns: RUNS_PER_ROUTE });
    }
  });

  it("recorded: no unhandled rejection, and the figures", () => {
    expect(unhandled.errors).toEqual([]);
    fuzzer.expectClean(routes.length * RUNS_PER_ROUTE);
    recordCase({
      id: "fuzz-other-routes",
      section: "Bad input",
      title: "Property-based fuzzing of the dashboard, /metrics and the docs routes",
      done: `fast-check (seed ${FUZZ_SEED}) sent ${RUNS_PER_ROUTE} requests to each of the ${routes.length} routes the hub app serves outside /api/v1 and /agent/v1 (taken from the app itself): path parameters from fixtures or hostile values; signed in, signed out or with a forged session cookie; same-origin or foreign Origin; form, multipart, JSON and junk bodies; hostile query parameters.`,
      checked: "Every answer below 500; after every refused request the database equals its state before; no unhandled rejection.",
      figures: { "routes fuzzed": routes.length, ...fuzzer.figures(), "unhandled rejections": unhandled.count(), seed: FUZZ_SEED },
      totals: { inputsTried: fuzzer.inputs, serverErrors: fuzzer.serverErrors },
    });
  });
});
