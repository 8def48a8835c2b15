import fc from "fast-check";
import { SignJWT, type CryptoKey } from "jose";
import { connectAsync, type MqttClient } from "mqtt";
import type { z } from "zod";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  BundleQuery, EnrollRequest, HUB_AUDIENCE, importPrivate, MqttTopics, ReportsRequest, ReportsResponse, Sha256Hex, signAgentJwt,
} from "@outpost/shared";
import { enrolledSite, snapshotDb, startTestHub, type TestHub, type TestSite } from "@outpost/hub/test-support/harness";
import { recordCase } from "./report.ts";
import { FUZZ_SEED, HttpFuzzer, watchUnhandled, type FuzzRequest } from "./lib/fuzz-http.ts";
import { fuzzInput, hostile, HOSTILE_STRINGS, jsonSchemaOf, shaped, toJsonText } from "./lib/fuzz-schema.ts";
import { percentEncode } from "./lib/fuzz-url.ts";

/**
 * Property-based fuzzing of the routes agents call and of the MQTT reports topic, with the agent's
 * own credentials and with forged ones. The routes come from the hub app itself: an agent route
 * without an entry in AGENT_ROUTES below fails the first test, so a new one cannot go unfuzzed.
 * For every HTTP request: never a 5xx, and a refused one changes nothing in the database except the
 * replay bookkeeping a verified token leaves by design (`used_jtis`, the site's `last_seen_at`).
 */
type Auth = "none" | "site";
interface AgentRouteFuzz { auth: Auth; query?: z.ZodType; body?: z.ZodType; params?: Record<string, z.ZodType> }
const AGENT_ROUTES: Record<string, AgentRouteFuzz> = {
  "POST /agent/v1/enroll": { auth: "none", body: EnrollRequest },
  "GET /agent/v1/keys": { auth: "none" },
  "GET /agent/v1/bundle": { auth: "site", query: BundleQuery },
  "POST /agent/v1/reports": { auth: "site", body: ReportsRequest },
  "GET /agent/v1/artifacts/:sha256": { auth: "site", params: { sha256: Sha256Hex } },
  "GET /agent/v1/mqtt": { auth: "site" },
};
const RUNS_PER_ROUTE = 80;
const MQTT_PAYLOADS = 150;
const MQTT_LOGINS = 30;

let t: TestHub;
let fuzzer: HttpFuzzer;
let site: TestSite, pending: TestSite;
let siteKey: CryptoKey, pendingKey: CryptoKey;
let enrollToken = "";
let artifacts: string[] = [];
const unhandled = watchUnhandled();
const mqttFigures: Record<string, number> = {};

beforeAll(async () => {
  // No rollout ticks; the embedded broker is on (for the MQTT half) but writes only when reports arrive.
  t = await startTestHub({ rolloutTickSeconds: 0, mqttWsPort: null });
  site = await enrolledSite(t, "fz-agent");
  pending = await enrolledSite(t, "fz-waiting", { approve: false });
  siteKey = await importPrivate(site.key.privateJwk);
  pendingKey = await importPrivate(pending.key.privateJwk);
  const named = await t.op.uploadArtifact("fz-image", new Uint8Array([7, 7, 7]));
  const unnamed = await t.op.uploadArtifact("fz-other", new Uint8Array([8, 8]));
  artifacts = [named.sha256, unnamed.sha256];
  await t.op.createRelease({ name: "fz", version: "1", spec: {}, artifacts: [named] });
  await t.op.assign({ name: "fz", version: "1" }, "");
  enrollToken = (await t.op.createToken({ uses: 10_000 })).token;
  fuzzer = new HttpFuzzer(t.hub.url, t.hub.db, { tables: ["used_jtis"], columns: { sites: ["last_seen_at"] } });
});
afterAll(async () => { unhandled.stop(); await t?.stop(); });

// --- Request tokens, genuine and forged ---------------------------------------------------------
const TOKEN_KINDS = ["fresh", "fresh", "fresh", "fresh", "pending site", "replayed", "another site's name", "expired", "lives 10 min",
  "issued in the future", "wrong audience", "alg none", "garbage", "none", "not bearer"] as const;
type TokenKind = (typeof TOKEN_KINDS)[number];
let replayable: string | null = null;

async function tokenOf(kind: TokenKind, junk: string): Promise<string | null> {
  const now = Math.floor(Date.now() / 1000);
  const jwt = (claims: { iss?: string; aud?: string; iat?: number; exp?: number }, key = siteKey) => new SignJWT({})
    .setProtectedHeader({ alg: "EdDSA", typ: "JWT" }).setIssuer(claims.iss ?? site.name).setSubject(claims.iss ?? site.name)
    .setAudience(claims.aud ?? HUB_AUDIENCE).setIssuedAt(claims.iat ?? now).setExpirationTime(claims.exp ?? now + 60).setJti(`fz-${Math.random()}`).sign(key);
  switch (kind) {
    case "fresh": { const j = await signAgentJwt(site.name, siteKey); replayable ??= j; return `Bearer ${j}`; }
    case "pending site": return `Bearer ${await signAgentJwt(pending.name, pendingKey)}`;
    case "replayed": return `Bearer ${replayable ?? "x"}`;
    case "another site's name": return `Bearer ${await jwt({ iss: pending.name })}`;
    case "expired": return `Bearer ${await jwt({ iat: now - 600, exp: now - 500 })}`;
    case "lives 10 min": return `Bearer ${await jwt({ exp: now + 600 })}`;
    case "issued in the future": return `Bearer ${await jwt({ iat: now + 3600, exp: now + 3640 })}`;
    case "wrong audience": return `Bearer ${await jwt({ aud: "someone-else" })}`;
    case "alg none": return `Bearer ${Buffer.from('{"alg":"none"}').toString("base64url")}.${Buffer.from(JSON.stringify({ iss: site.name, aud: HUB_AUDIENCE, exp: now + 60 })).toString("base64url")}.`;
    case "garbage": return `Bearer ${junk}`;
    case "none": return null;
    case "not bearer": return `Basic ${Buffer.from(`${site.name}:x`).toString("base64")}`;
  }
}

const headerSafe = HOSTILE_STRINGS.filter((s) => s.length > 0 && !/[\r\n\u0000-\u001f\u007f-\uffff]/.test(s));
/** Keeps fuzzed long-polls short: `wait` above 1 s is answered in 1 s. */
const clampWait = (q: unknown) => (q && typeof q === "object" && typeof (q as { wait?: unknown }).wait === "number" && (q as { wait: number }).wait > 1 ? { ...q, wait: 1 } : q);

interface Plan { token: TokenKind; junk: string; path: string; query: unknown; body: unknown; raw: string | null; realEnrollToken: boolean }

function planArb(key: string, route: AgentRouteFuzz): fc.Arbitrary<Plan> {
  const [, path] = key.split(" ") as [string, string];
  const params = Object.entries(route.params ?? {});
  const param = (schema: z.ZodType) => fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...artifacts) },
    { weight: 2, arbitrary: shaped(jsonSchemaOf(schema)).map(String) },
    { weight: 1, arbitrary: hostile.map((v) => (typeof v === "string" ? v : JSON.stringify(v) ?? "")) },
  ).map(percentEncode);
  return fc.record({
    token: fc.constantFrom(...TOKEN_KINDS),
    junk: fc.constantFrom(...headerSafe),
    path: fc.tuple(...params.map(([, s]) => param(s))).map((vals) => params.reduce((p, [n], i) => p.replace(`:${n}`, vals[i]!), path)),
    query: route.query ? fuzzInput(jsonSchemaOf(route.query)).map(clampWait) : fc.constant(null),
    body: route.body ? fuzzInput(jsonSchemaOf(route.body)) : fc.constant(null),
    raw: fc.oneof({ weight: 6, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.oneof(fc.string(), fc.constantFrom("", "{", "[]", "null")) }),
    realEnrollToken: fc.boolean(),
  });
}

async function requestOf(key: string, route: AgentRouteFuzz, p: Plan): Promise<FuzzRequest> {
  const [method] = key.split(" ") as [string];
  const headers: Record<string, string> = {};
  if (route.auth === "site") { const a = await tokenOf(p.token, p.junk); if (a) headers.authorization = a; }
  let qs = "";
  if (p.query && typeof p.query === "object" && !Array.isArray(p.query)) {
    const parts = Object.entries(p.query).map(([k, v]) => `${percentEncode(k)}=${percentEncode(typeof v === "string" ? v : JSON.stringify(v) ?? "")}`);
    if (parts.length) qs = `?${parts.join("&")}`;
  }
  let body: string | undefined;
  if (method !== "GET" && route.body) {
    let value = p.body;
    // Half the enrollments carry a real token, so the fuzzer reaches past the token check.
    if (key === "POST /agent/v1/enroll" && p.realEnrollToken && value && typeof value === "object" && !Array.isArray(value)) value = { ...value, token: enrollToken };
    body = p.raw ?? toJsonText(value);
    headers["content-type"] = "application/json";
  }
  return { method, path: p.path + qs, headers, ...(body === undefined ? {} : { body }) };
}

describe("fuzzing the agent API (HTTPS) and the MQTT reports topic", () => {
  it("every agent route the hub serves has a fuzz description", () => {
    const served = new Set(t.hub.app.routes.filter((r) => r.path.startsWith("/agent/v1/") && r.method !== "ALL").map((r) => `${r.method} ${r.path}`));
    expect([...served].sort()).toEqual(Object.keys(AGENT_ROUTES).sort());
  });

  it.each(Object.entries(AGENT_ROUTES))("%s: no 5xx, refusals change nothing", async (key, route) => {
    await fc.assert(fc.asyncProperty(planArb(key, route), async (p) => { await fuzzer.send(await requestOf(key, route, p)); }), { seed: FUZZ_SEED, numRuns: RUNS_PER_ROUTE });
  });

  it("MQTT: junk on a site's reports topic is dropped unacked, valid reports are stored once, and forged logins are refused", async () => {
    const url = t.hub.mqtt!.urls.find((u) => u.startsWith("mqtt:"))!;
    // Forged logins first: none of them may get in (and none may take the broker down).
    const logins = fc.sample(fc.record({
      clientId: fc.oneof(fc.constant(site.name), fc.constantFrom(...headerSafe), fc.string({ maxLength: 30 })),
      username: fc.oneof(fc.constant(site.name), fc.constant("$outpost-hub"), fc.constantFrom(...headerSafe), fc.string({ maxLength: 30 })),
      password: fc.oneof(fc.constantFrom(...TOKEN_KINDS.filter((k) => k !== "fresh")), fc.string({ maxLength: 80 })),
    }), { numRuns: MQTT_LOGINS, seed: FUZZ_SEED });
    let refused = 0;
    for (const l of logins) {
      const password = (TOKEN_KINDS as readonly string[]).includes(l.password) ? ((await tokenOf(l.password as TokenKind, "x")) ?? "").replace(/^Bearer /, "") : l.password;
      const c = await connectAsync(url, { clientId: l.clientId || "x", username: l.username, password, reconnectPeriod: 0, connectTimeout: 5000, protocolVersion: 4 }).catch(() => null);
      if (c) { await c.endAsync(true); throw new Error(`a forged MQTT login got in: ${JSON.stringify(l)}`); }
      refused++;
    }

    const client: MqttClient = await connectAsync(url, { clientId: site.name, username: site.name, password: await signAgentJwt(site.name, siteKey), reconnectPeriod: 0, protocolVersion: 4, clean: true });
    const acked = new Set<string>();
    client.on("message", (_topic, payload) => { for (const id of ReportsResponse.parse(JSON.parse(payload.toString())).acked) acked.add(id); });
    await client.subscribeAsync(MqttTopics.acks(site.name), { qos: 1 });
    const untouched = async () => { const s = await snapshotDb(t.hub.db, { tables: ["used_jtis", "reports", "sites"] }); return s; };
    const before = await untouched();
    const storedBefore = new Set((await t.hub.db.client.execute("SELECT id FROM reports")).rows.map((r) => String(r.id)));

    const payloads = fc.sample(fc.oneof(
      { weight: 3, arbitrary: fuzzInput(jsonSchemaOf(ReportsRequest)).map(toJsonText) },
      { weight: 1, arbitrary: fc.oneof(fc.string(), fc.constantFrom("", "{}", "[]", "null", '{"reports":[]}')) },
      { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString("latin1")) },
    ), { numRuns: MQTT_PAYLOADS, seed: FUZZ_SEED });
    const valid = new Set<string>();
    let validPayloads = 0;
    for (const text of payloads) {
      let parsed: ReturnType<typeof ReportsRequest.safeParse> | null = null;
      try { parsed = ReportsRequest.safeParse(JSON.parse(text)); } catch { /* not JSON */ }
      if (parsed?.success) { validPayloads++; for (const r of parsed.data.reports) valid.add(r.id); }
      await client.publishAsync(MqttTopics.reports(site.name), text, { qos: 1 });
    }
    const deadline = Date.now() + 20_000;
    while ([...valid].some((id) => !acked.has(id)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await client.endAsync();

    expect([...valid].filter((id) => !acked.has(id)), "valid reports the hub never acked").toEqual([]);
    const storedNow = (await t.hub.db.client.execute("SELECT id FROM reports")).rows.map((r) => String(r.id)).filter((id) => !storedBefore.has(id));
    expect(new Set(storedNow)).toEqual(new Set([...valid].filter((id) => !storedBefore.has(id))));
    expect([...acked].filter((id) => !valid.has(id)), "acks for reports that were not valid").toEqual([]);
    expect(await untouched()).toEqual(before);
    expect((await fetch(`${t.hub.url}/healthz`)).status).toBe(200);
    Object.assign(mqttFigures, {
      "MQTT payloads published": payloads.length, "MQTT payloads valid": validPayloads, "reports in them, stored and acked": storedNow.length,
      "forged MQTT logins tried": logins.length, "forged MQTT logins refused": refused,
    });
  });

  it("recorded: no unhandled rejection, and the figures", () => {
    expect(unhandled.errors).toEqual([]);
    const routes = Object.keys(AGENT_ROUTES).length;
    fuzzer.expectClean(routes * RUNS_PER_ROUTE);
    const inputs = fuzzer.inputs + (mqttFigures["MQTT payloads published"] ?? 0) + (mqttFigures["forged MQTT logins tried"] ?? 0);
    recordCase({
      id: "fuzz-agent-api",
      section: "Bad input",
      title: "Property-based fuzzing of the agent API and the MQTT reports topic",
      done: `fast-check (seed ${FUZZ_SEED}) sent ${RUNS_PER_ROUTE} requests to each of the ${routes} agent routes (the list is checked against the routes the hub serves): bodies and queries from the routes' zod schemas, valid-shaped or mutated with hostile values, junk bodies; request tokens genuine, of a pending site, replayed, naming another site, expired, living too long, issued in the future, for another audience, alg none, garbage, missing. Then ${MQTT_LOGINS} forged MQTT logins and ${MQTT_PAYLOADS} fuzzed messages on a site's reports topic through the embedded broker.`,
      checked: "HTTPS: every answer below 500; after every refused request the database equals its state before (except the token ids a verified token burns and the site's last-seen time, by design). MQTT: every forged login refused; exactly the valid reports stored and acked, junk dropped unacked, nothing else in the database touched, hub still answering. No unhandled rejection.",
      figures: { "agent routes fuzzed": routes, ...fuzzer.figures(), ...mqttFigures, "unhandled rejections": unhandled.count(), seed: FUZZ_SEED },
      totals: { inputsTried: inputs, serverErrors: fuzzer.serverErrors },
    });
  });
});
