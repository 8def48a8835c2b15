import { rmSync } from "node:fs";
import fc from "fast-check";
import { base64url, CompactSign, compactVerify, generateKeyPair } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BUNDLE_TYP, BundlePayload, importPublic, Spec, type BundlePayloadInput } from "@outpost/shared";
import { agentTrust, enrolledSite, startTestHub, tempDir, type TestHub, type TestSite } from "@outpost/hub/test-support/harness";
import { stderrLogger } from "@outpost/agent";
import { openStore, type Store } from "@outpost/agent/store/db";
import { Events } from "@outpost/agent/report/events";
import { BundleIntake } from "@outpost/agent/trust/intake";
import { loadTrust, saveTrust } from "@outpost/agent/trust/trust-store";
import { recordCase } from "./report.ts";
import { FUZZ_SEED, HttpFuzzer, watchUnhandled } from "./lib/fuzz-http.ts";
import { fuzzInput, hostile, jsonSchemaOf, toJsonText } from "./lib/fuzz-schema.ts";

/**
 * The bundle verifier and the spec schema, fuzzed where they run: every JWS goes through the
 * agent's own BundleIntake (the one gate of every transport) on a real state file, with the trust
 * state a real hub gave it; specs go through the hub's POST /releases and, when accepted, all the
 * way to the agent as a bundle the hub signed.
 * - Intake: nothing but a rejection or an acceptance ever comes out (no other error); a rejection
 *   leaves the agent's bundles and trust state exactly as they were and queues at most one event;
 *   an acceptance is re-checked independently (hub key signature, schema, site, expiry, version).
 * - Spec: the schema never throws; what it accepts it accepts again unchanged (so signing and
 *   re-reading a bundle cannot change it); the hub accepts a release exactly when the schema
 *   accepts its spec, refuses it naming a field under `spec` and changing nothing; and the agent
 *   receives exactly the spec the schema produced.
 */
const JWS_RUNS = 500;
const SPEC_RUNS = 100;
const SITE = "fz-bundle";

let t: TestHub;
let site: TestSite;
/** Agent state for the JWS fuzzing; the spec fuzzing gets its own (the first one's floor is pushed up by fuzzed bundles the hub never issued). */
let store: Store, specStore: Store;
let intake: BundleIntake, specIntake: BundleIntake;
const stateDirs: string[] = [];
let genuine: string[] = [];
let hubKey: { kid: string; privateKey: CryptoKey };
let attacker: CryptoKey;
const unhandled = watchUnhandled();
const figures: Record<string, number> = {};

beforeAll(async () => {
  t = await startTestHub({ rolloutTickSeconds: 0, mqtt: false });
  site = await enrolledSite(t, SITE, { labels: { fz: "bundle" } });
  await enrolledSite(t, "fz-elsewhere", { labels: { fz: "elsewhere" } });
  await t.op.createRelease({ name: "base", version: "1", spec: { lxd: { instances: [{ name: "web", image: { alias: "debian" } }] } } });
  await t.op.assign({ name: "base", version: "1" }, "");
  await t.op.assign({ name: "base", version: "1" }, "");
  genuine = (await t.hub.db.client.execute("SELECT jws FROM bundles ORDER BY version")).rows.map((r) => String(r.jws));
  const k = await t.hub.keys.activeBundleKey();
  hubKey = { kid: k.kid, privateKey: k.privateKey as CryptoKey };
  attacker = (await generateKeyPair("EdDSA", { crv: "Ed25519" })).privateKey as CryptoKey;
  ({ store, intake } = await agent());
  ({ store: specStore, intake: specIntake } = await agent());
});
afterAll(async () => {
  unhandled.stop();
  for (const s of [store, specStore]) s?.close();
  for (const d of stateDirs) rmSync(d, { recursive: true, force: true });
  await t?.stop();
});

/** The agent's intake on its own state file, trusting what the hub serves (as after enrollment). */
async function agent(): Promise<{ store: Store; intake: BundleIntake }> {
  const dir = tempDir("outpost-fuzz-agent-");
  stateDirs.push(dir);
  const s = await openStore(dir);
  await s.write([saveTrust(await agentTrust(t, site))]);
  const log = stderrLogger("silent", SITE);
  return { store: s, intake: new BundleIntake({ store: s, events: new Events(s, 100_000, log), log, fetchKeys: () => site.client.keys(), onAccepted: () => {} }) };
}

const agentState = async () => {
  const [bundles, trust] = await Promise.all([
    store.db.execute("SELECT version, jws FROM bundles ORDER BY version"), store.db.execute("SELECT value FROM kv WHERE key = 'trust'"),
  ]);
  return JSON.stringify([bundles.rows, trust.rows]);
};
const queuedEvents = async () => Number((await store.db.execute("SELECT count(*) AS n FROM outbox WHERE kind = 'event'")).rows[0]!.n);

const b64 = (s: string) => base64url.encode(s);
const enc = new TextEncoder();
function sign(bytes: Uint8Array, header: Record<string, unknown>, key: CryptoKey): Promise<string> {
  return new CompactSign(bytes).setProtectedHeader(header as { alg: string }).sign(key);
}

/** Payloads shaped like a bundle (often nearly right for this site), or not. */
function payloadArb(floor: () => number): fc.Arbitrary<unknown> {
  const near = fc.record({
    site: fc.constantFrom(SITE, SITE, "fz-elsewhere"),
    version: fc.integer({ min: -1, max: 6 }).map((d) => floor() + d),
    expiresIn: fc.constantFrom(-60_000, 3600_000, 3600_000),
    keysVersion: fc.constantFrom(1, 1, 2, 99),
  }).map((o): BundlePayloadInput => ({
    apiVersion: "outpost/v1", site: o.site, version: o.version, issuedAt: new Date().toISOString(),
    expiresAt: new Date(Date.now() + o.expiresIn).toISOString(), keysVersion: o.keysVersion, release: { name: "fz", version: "1" }, spec: {}, artifacts: [],
  }));
  return fc.oneof({ weight: 3, arbitrary: near }, { weight: 2, arbitrary: fuzzInput(jsonSchemaOf(BundlePayload)) }, { weight: 1, arbitrary: hostile });
}

function jwsArb(floor: () => number): fc.Arbitrary<() => Promise<string>> {
  const junk = fc.oneof(fc.string(), fc.string({ unit: "binary" }), fc.string({ unit: fc.constantFrom(..."eyJ.-_AZaz09=") }),
    fc.tuple(fc.jsonValue(), fc.jsonValue(), fc.string({ maxLength: 90 })).map(([h, p, s]) => `${b64(JSON.stringify(h))}.${b64(JSON.stringify(p))}.${s}`))
    .map((s) => async () => s);
  const mutatedGenuine = fc.tuple(fc.constantFrom(...genuine), fc.nat(), fc.integer({ min: 1, max: 94 }), fc.constantFrom("flip", "truncate", "swap-header", "swap-payload", "extra-dot"))
    .map(([jws, n, delta, how]) => async () => {
      const [h, p, s] = jws.split(".") as [string, string, string];
      const other = genuine[(n + 1) % genuine.length]!.split(".");
      const i = n % jws.length;
      switch (how) {
        case "flip": return jws.slice(0, i) + String.fromCharCode(33 + ((jws.charCodeAt(i) - 33 + delta) % 94)) + jws.slice(i + 1);
        case "truncate": return jws.slice(0, i);
        case "swap-header": return `${b64(JSON.stringify({ alg: "EdDSA", typ: BUNDLE_TYP, kid: hubKey.kid, extra: n }))}.${p}.${s}`;
        case "swap-payload": return `${h}.${other[1]}.${s}`;
        default: return `${jws}.${h}`;
      }
    });
  const header = fc.oneof(
    { weight: 4, arbitrary: fc.constant({ alg: "EdDSA", typ: BUNDLE_TYP }) },
    { weight: 1, arbitrary: fc.record({ alg: fc.constant("EdDSA"), typ: fc.constantFrom("JWT", undefined, BUNDLE_TYP), crit: fc.constantFrom(undefined, ["b64"]) }, { requiredKeys: ["alg"] }) },
  );
  const signed = fc.tuple(payloadArb(floor), header, fc.constantFrom("hub", "hub", "hub", "attacker as the hub's kid", "attacker"))
    .map(([payload, h, who]) => async () => {
      const bytes = enc.encode(toJsonText(payload));
      const hdr = JSON.parse(JSON.stringify({ ...h, kid: who === "attacker" ? "attacker-key" : hubKey.kid })) as Record<string, unknown>;
      try { return await sign(bytes, hdr, who === "hub" ? hubKey.privateKey : attacker); } catch { return sign(bytes, { alg: "EdDSA", typ: BUNDLE_TYP, kid: hubKey.kid }, who === "hub" ? hubKey.privateKey : attacker); }
    });
  return fc.oneof({ weight: 1, arbitrary: junk }, { weight: 1, arbitrary: mutatedGenuine }, { weight: 3, arbitrary: signed });
}

/** What an acceptance must satisfy, checked without the verifier. */
async function independentlyValid(jws: string, floor: number): Promise<string | null> {
  const hubPublic = (await t.hub.keys.currentKeys()).doc.keys.find((k) => k.kid === hubKey.kid)!.publicKey;
  let bytes: Uint8Array;
  try { ({ payload: bytes } = await compactVerify(jws, await importPublic(hubPublic), { algorithms: ["EdDSA"] })); } catch { return "not signed by the hub's key"; }
  const p = BundlePayload.safeParse(JSON.parse(new TextDecoder().decode(bytes)));
  if (!p.success) return "payload not a bundle";
  if (p.data.site !== SITE) return `for ${p.data.site}`;
  if (Date.parse(p.data.expiresAt) <= Date.now()) return "expired";
  if (p.data.version <= floor) return `version ${p.data.version} <= ${floor}`;
  return null;
}

describe("fuzzing the bundle verifier (through the agent's intake) and the spec schema (through the hub)", () => {
  it("the intake only accepts valid bundles, and a rejection changes nothing but one event", async () => {
    let floor = (await loadTrust(store.db))!.bundleVersion;
    let accepted = 0, rejected = 0;
    const codes = new Map<string, number>();
    await fc.assert(fc.asyncProperty(jwsArb(() => floor), async (make) => {
      const jws = await make();
      const before = await agentState();
      const events = await queuedEvents();
      const outcome = await intake.receive(jws, "fuzz");
      if (outcome.kind === "accepted") {
        expect(await independentlyValid(jws, floor)).toBeNull();
        floor = outcome.version;
        accepted++;
        return;
      }
      rejected++;
      codes.set(outcome.code, (codes.get(outcome.code) ?? 0) + 1);
      expect(await agentState()).toBe(before);
      expect(await queuedEvents() - events).toBe(outcome.repeated ? 0 : 1);
    }), { seed: FUZZ_SEED, numRuns: JWS_RUNS });
    expect(accepted).toBeGreaterThan(0); // the generator does reach valid bundles
    Object.assign(figures, { "JWSs fed to the intake": JWS_RUNS, "accepted (each re-checked)": accepted, rejected,
      "rejections by code": [...codes.entries()].sort(([, a], [, b]) => b - a).map(([c, k]) => `${c}: ${k}`).join(", ") });
  });

  it("the spec schema never throws, is idempotent, and the hub and the agent agree with it", async () => {
    const fuzzer = new HttpFuzzer(t.hub.url, t.hub.db);
    let n = 0, valid = 0, delivered = 0;
    await fc.assert(fc.asyncProperty(fuzzInput(jsonSchemaOf(Spec)), async (input) => {
      const text = toJsonText(input);
      const raw = JSON.parse(text) as unknown;
      const parsed = Spec.safeParse(raw); // throwing here fails the property
      const version = `v${++n}`;
      const res = await fuzzer.send({ method: "POST", path: "/api/v1/releases", headers: { authorization: `Bearer ${t.hub.adminToken}`, "content-type": "application/json" }, body: `{"name":"spec-fuzz","version":"${version}","spec":${text}}` });
      if (!parsed.success) {
        expect(res.status).toBe(400);
        const issues = (JSON.parse(res.text) as { error: { issues?: { path: string }[] } }).error.issues ?? [];
        expect(issues.length).toBeGreaterThan(0);
        for (const i of issues) expect(i.path).toMatch(/^spec(\.|$)/);
        return;
      }
      valid++;
      expect(res.status).toBe(201);
      expect(Spec.parse(JSON.parse(JSON.stringify(parsed.data)))).toEqual(parsed.data);
      // Every fourth valid spec goes all the way: signed by the hub, received and accepted by the agent.
      if (valid % 4 !== 1) return;
      try {
        const { assigned } = await t.op.assign({ name: "spec-fuzz", version }, "fz=bundle");
        const got = await site.client.bundle(assigned[0]!.version - 1, 0);
        if (got.status !== 200) throw new Error(`expected the new bundle, got ${got.status}`);
        const outcome = await specIntake.receive(got.jws, "fuzz");
        expect(outcome).toMatchObject({ kind: "accepted" });
        expect(outcome.kind === "accepted" && outcome.payload.spec).toEqual(parsed.data);
        delivered++;
      } finally {
        await fuzzer.rebase(); // the assignment and the agent's fetch wrote to the hub's database
      }
    }), { seed: FUZZ_SEED, numRuns: SPEC_RUNS });
    expect(fuzzer.serverErrors + fuzzer.refusedThatWrote).toBe(0);
    Object.assign(figures, { "5xx seen": fuzzer.serverErrors, "specs tried": SPEC_RUNS, "specs valid (hub said 201)": valid, "specs refused (hub said 400, DB unchanged)": fuzzer.refused, "valid specs delivered to the agent and accepted unchanged": delivered });
  });

  it("recorded: no unhandled rejection, and the figures", () => {
    expect(unhandled.errors).toEqual([]);
    recordCase({
      id: "fuzz-bundle-verifier-and-spec",
      section: "Bad input",
      title: "Fuzzing the bundle verifier (agent intake) and the spec schema (hub to agent)",
      done: `fast-check (seed ${FUZZ_SEED}) fed ${JWS_RUNS} JWSs to the agent's BundleIntake on a real state file trusting a real hub: junk, genuine hub bundles with a byte flipped, truncated or a segment swapped, and payloads (near-valid for this site, schema-shaped, mutated, hostile) signed with the hub's real key or an attacker's, under the hub's kid or its own, with odd headers. Then ${SPEC_RUNS} specs (schema-shaped, mutated, hostile) as releases through POST /api/v1/releases; every fourth valid one assigned, signed and received by the agent.`,
      checked: "The intake never throws; every acceptance holds independently (hub key, schema, site, not expired, version above the floor); every rejection leaves the agent's bundles and trust state byte for byte and queues at most one event. The spec schema never throws and re-parses its own output unchanged; the hub answers 201 exactly when the schema accepts, else 400 naming fields under spec with the DB unchanged; the agent receives exactly the parsed spec. No unhandled rejection.",
      figures: { ...figures, "unhandled rejections": unhandled.count(), seed: FUZZ_SEED },
      totals: { inputsTried: JWS_RUNS + SPEC_RUNS, serverErrors: figures["5xx seen"] ?? 0 },
    });
  });
});
