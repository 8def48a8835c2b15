import { createHash } from "node:crypto";
import { join } from "node:path";
import { base64url, CompactSign, generateKeyPair, exportJWK, calculateJwkThumbprint, type CryptoKey } from "jose";
import { connectAsync, type MqttClient } from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readAgentStatus } from "@outpost/agent";
import { BUNDLE_TYP, BundlePayload, MqttTopics, newKeyPair, signBundle, type BundlePayloadInput } from "@outpost/shared";
import { renewBundles } from "@outpost/hub/bundles/renew";
import { HUB_CLIENT_PREFIX, HUB_INTERNAL_USER } from "@outpost/hub/mqtt/acl";
import { AgentClient, importPrivate } from "@outpost/shared";
import { waitFor } from "../lib/processes.ts";
import { TamperingProxy } from "../lib/proxy.ts";
import { storeRelease } from "../lib/releases.ts";
import { withStateFile } from "../lib/state-file.ts";
import { recordCase } from "./report.ts";
import { InProcessHubFleet } from "./lib/attack-fleet.ts";
import { KnownSecrets, logBytes } from "./lib/attack-secrets.ts";

/**
 * Forged bundles over both transports, against real agent processes: site `atk-https` takes its
 * bundles over HTTPS through a man in the middle (TamperingProxy), site `atk-mqtt` over MQTT from
 * the hub's embedded broker, where the attacker holds broker access (the hub's own broker
 * credentials) and replaces the site's retained bundle. Whatever the forgery, only the agent's
 * verification stands in the way: each must be refused with its own code, reported once to the
 * hub, and nothing applied. At the end every bundle either agent ever accepted must be one the hub
 * issued, and no secret may appear in the hub's or the agents' logs (all at trace level).
 * (test/e2e/bundle-attacks.test.ts also withholds a genuine bundle until it expires over HTTPS.)
 */
const HTTPS = "atk-https", MQTT = "atk-mqtt", OTHER = "atk-other";
const SITES = [HTTPS, MQTT] as const;
type Site = (typeof SITES)[number];
const transportOf = (s: Site) => (s === HTTPS ? "https" : "mqtt");

const fleet = new InProcessHubFleet();
const proxy = new TamperingProxy(() => fleet.url);
const secrets = new KnownSecrets();
let forger: MqttClient;
let attackerKey: { kid: string; privateKey: CryptoKey };
const results: { title: string; code: string; via: string[] }[] = [];
/** Rejection events already matched to a case, by id. */
const seenEvents = new Set<string>();

const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");
const payloadOf = (jws: string) => BundlePayload.parse(JSON.parse(new TextDecoder().decode(base64url.decode(jws.split(".")[1]!))));
const held = async (site: Site) => (await readAgentStatus(fleet.stateDir(site))).bundleVersion!;
async function newestGenuine(site: string): Promise<string> {
  const rows = await fleet.running.db.client.execute({ sql: "SELECT b.jws FROM bundles b JOIN sites s ON s.id = b.site_id WHERE s.name = ? ORDER BY b.version DESC LIMIT 1", args: [site] });
  return String(rows.rows[0]!.jws);
}
async function genuineVersion(site: string, version: number): Promise<string> {
  const rows = await fleet.running.db.client.execute({ sql: "SELECT b.jws FROM bundles b JOIN sites s ON s.id = b.site_id WHERE s.name = ? AND b.version = ?", args: [site, version] });
  return String(rows.rows[0]!.jws);
}
/** A payload as the hub would sign it for `site`, from its newest genuine one, with changes. */
async function payloadFor(site: string, changes: Partial<BundlePayloadInput>): Promise<BundlePayloadInput> {
  return { ...payloadOf(await newestGenuine(site)), ...changes };
}
const hubKey = async () => { const k = await fleet.running.keys.activeBundleKey(); return { kid: k.kid, privateKey: k.privateKey }; };

/** Puts `jws` in front of the site's agent: the proxy's answer to its long-poll, or the retained message on its bundle topic. */
async function deliver(site: Site, jws: string): Promise<void> {
  if (site === HTTPS) {
    proxy.rewrite = (x) => (x.site === HTTPS && x.path === "/agent/v1/bundle" ? { status: 200, body: jws, headers: { "x-outpost-bundle-version": "999" } } : undefined);
  } else {
    await forger.publishAsync(MqttTopics.bundle(MQTT), jws, { qos: 1, retain: true });
  }
}
/** Takes the forgery away: the proxy passes answers through, the broker holds the genuine newest bundle again. */
async function restore(site: Site): Promise<void> {
  if (site === HTTPS) proxy.rewrite = () => undefined;
  else await forger.publishAsync(MqttTopics.bundle(MQTT), await newestGenuine(MQTT), { qos: 1, retain: true });
}

async function rejection(site: Site, code: string, jws: string | null) {
  return waitFor(`a ${code} rejection from ${site}`, async () => {
    const ev = (await fleet.events(site, "bundle-rejected")).find((e) => !seenEvents.has(e.id) && e.body.code === code);
    if (ev) seenEvents.add(ev.id);
    return ev;
  }, 30_000).then((ev) => {
    // The agent reports which bytes it refused (a truncated oversized answer hashes otherwise).
    if (jws) expect((ev.body.details as { jwsSha256?: string }).jwsSha256).toBe(sha256(jws));
    expect(String(ev.body.message)).toContain(`via ${transportOf(site)}`);
    return ev;
  });
}

/** One forgery per site, delivered on both transports at once; each refused with `code`, nothing applied. */
async function forgeryRefused(title: string, code: string, make: (site: Site) => Promise<string>, opts: { truncated?: boolean } = {}) {
  const before = { [HTTPS]: await held(HTTPS), [MQTT]: await held(MQTT) };
  await Promise.all(SITES.map(async (site) => {
    const jws = await make(site);
    await deliver(site, jws);
    try { await rejection(site, code, opts.truncated ? null : jws); } finally { await restore(site); }
    expect(await held(site)).toBe(before[site]);
  }));
  results.push({ title, code, via: SITES.map(transportOf) });
}

beforeAll(async () => {
  await fleet.startInProcessHub();
  await proxy.start();
  for (const site of SITES) {
    const { token } = await fleet.op.createToken({ autoApprove: true });
    secrets.addEnrollmentToken(token);
    await fleet.startAgent(site, {
      token, hubUrl: proxy.url,
      env: { OUTPOST_TRANSPORT: transportOf(site), OUTPOST_LONG_POLL_SECONDS: "1", OUTPOST_LOG_LEVEL: "trace" },
    });
  }
  // A third site, in-process: its genuine bundles are what a mix-and-match attacker replays.
  const other = await newKeyPair();
  const otherToken = (await fleet.op.createToken({ autoApprove: true, labels: { who: "other" } })).token;
  secrets.addEnrollmentToken(otherToken).addJwk("agent private key", other.privateJwk);
  await new AgentClient(fleet.url, OTHER, await importPrivate(other.privateJwk)).enroll({ token: otherToken, site: OTHER, publicKey: other.publicJwk });
  for (const v of ["1.0", "2.0", "3.0"]) await fleet.op.createRelease(storeRelease(v));
  await fleet.op.assign({ name: "store", version: "1.0" }, "");
  await fleet.op.assign({ name: "store", version: "2.0" }, "");
  for (let i = 0; i < 5; i++) await fleet.op.assign({ name: "store", version: "1.0" }, "who=other"); // far ahead of the others
  await fleet.waitApplied([...SITES], () => 2, 60_000);
  const internal = fleet.running.mqtt!.embedded!.internal;
  secrets.add("hub broker password", internal.password);
  forger = await connectAsync(fleet.running.mqtt!.urls[0]!, { clientId: `${HUB_CLIENT_PREFIX}intruder`, username: HUB_INTERNAL_USER, password: internal.password, reconnectPeriod: 0, protocolVersion: 4 });
  const k = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
  attackerKey = { kid: await calculateJwkThumbprint(await exportJWK(k.publicKey)), privateKey: k.privateKey };
  secrets.addJwk("attacker private key", await exportJWK(k.privateKey));
}, 180_000);
afterAll(async () => { await forger?.endAsync(true); await fleet.close(); await proxy.close(); });

describe("forged bundles over HTTPS (man in the middle) and MQTT (broker access) are refused by the agent", () => {
  it("tampered: a genuine bundle with its payload changed (version up, instances gone)", async () => {
    await forgeryRefused("Tampered payload (signature no longer matches)", "BUNDLE_BAD_SIGNATURE", async (site) => {
      const [h, , s] = (await newestGenuine(site)).split(".");
      const evil = await payloadFor(site, { version: (await held(site)) + 1, spec: { lxd: { instances: [] } } });
      return `${h}.${base64url.encode(JSON.stringify(evil))}.${s}`;
    });
  });

  it("another site's genuine bundle, at a higher version (mix-and-match)", async () => {
    expect(payloadOf(await newestGenuine(OTHER)).version).toBeGreaterThan(Math.max(await held(HTTPS), await held(MQTT)));
    await forgeryRefused("Another site's genuine bundle", "BUNDLE_WRONG_SITE", async () => newestGenuine(OTHER));
  });

  it("expired: signed by the hub's real key, for this site, a version up, expired a minute ago", async () => {
    // What a bundle withheld until it expired looks like (test/e2e/bundle-attacks.test.ts withholds a real one).
    await forgeryRefused("Expired bundle (the hub's own key)", "BUNDLE_EXPIRED", async (site) => signBundle(await payloadFor(site, {
      version: (await held(site)) + 1, issuedAt: new Date(Date.now() - 3600_000).toISOString(), expiresAt: new Date(Date.now() - 60_000).toISOString(),
    }), await hubKey()));
  });

  it("unknown key: a well-formed bundle signed by the attacker's own key", async () => {
    await forgeryRefused("Signed by an unknown key", "BUNDLE_UNKNOWN_KEY", async (site) => signBundle(await payloadFor(site, { version: (await held(site)) + 1 }), attackerKey));
  });

  it("oversized: 2 MiB, properly signed by the hub's key, read only up to the limit", async () => {
    await forgeryRefused("Oversized (2 MiB, signed by the hub's key)", "BUNDLE_TOO_LARGE", async (site) => {
      const body = JSON.stringify({ ...(await payloadFor(site, { version: (await held(site)) + 1 })), padding: "p".repeat(2 * 1024 * 1024) });
      const key = await hubKey();
      return new CompactSign(new TextEncoder().encode(body)).setProtectedHeader({ alg: "EdDSA", typ: BUNDLE_TYP, kid: key.kid }).sign(key.privateKey);
    }, { truncated: true });
  });

  it("replayed old version: refused over HTTPS; over MQTT held without a verdict, like any redelivered retained bundle", async () => {
    const old = { [HTTPS]: await genuineVersion(HTTPS, 1), [MQTT]: await genuineVersion(MQTT, 1) };
    const before = { [HTTPS]: await held(HTTPS), [MQTT]: await held(MQTT) };
    // HTTPS: the verifier's rollback check.
    await deliver(HTTPS, old[HTTPS]);
    try { await rejection(HTTPS, "BUNDLE_ROLLBACK", old[HTTPS]); } finally { await restore(HTTPS); }
    // MQTT: a version at or below the one held is what the broker redelivers on every subscribe; it
    // is skipped (it can only keep what the agent has). The genuine bundle after it still gets in.
    const rejectedBefore = (await fleet.events(MQTT, "bundle-rejected")).length;
    await deliver(MQTT, old[MQTT]);
    await fleet.op.assign({ name: "store", version: "3.0" }, "");
    await fleet.waitApplied([...SITES], (s) => before[s as Site] + 1);
    expect((await fleet.events(MQTT, "bundle-rejected")).length).toBe(rejectedBefore);
    expect((await fleet.site(MQTT)).release).toBe("store@3.0");
    results.push({ title: "Replayed old genuine version", code: "BUNDLE_ROLLBACK (HTTPS); held, never applied (MQTT)", via: ["https", "mqtt"] });
  });

  it("after the operator rotates out a compromised key: a withheld bundle it signed, and a new one the attacker signs with it, are refused", async () => {
    // The attacker stole the online key and kept back a genuine bundle it signed, a version ahead.
    const stolen = await hubKey();
    const withheld = Object.fromEntries(await Promise.all(SITES.map(async (s) => [s, await signBundle(await payloadFor(s, { version: (await held(s)) + 3 }), stolen)] as const)));
    await secrets.addHubSigningKeys(fleet.running.db);
    // The operator rotates with the offline root: a new key, the old one listed as retired in keys v2.
    const rotated = await fleet.running.keys.rotateSigningKey({ retireReason: "key compromised" });
    expect(rotated.retired).toEqual([stolen.kid]);
    await secrets.addHubSigningKeys(fleet.running.db);
    // The hub re-signs every site's bundle with the new key (its renewal does this on its timer); the
    // agents take it, which makes them fetch keys v2 and learn that the old key is retired.
    const renewed = await renewBundles({ hub: fleet.running.db, keys: fleet.running.keys, notifier: fleet.running.notifier, bundleTtlHours: 168, now: () => new Date() });
    const at = Object.fromEntries(renewed.map((r) => [r.site, r.version]));
    await fleet.waitApplied([...SITES], (s) => at[s]!);
    for (const s of SITES) {
      await waitFor(`${s} to trust keys v${rotated.keysVersion}`, async () => (await fleet.events(s, "keys-updated")).some((e) => (e.body.details as { to?: { keysVersion?: number } }).to?.keysVersion === rotated.keysVersion));
    }

    await forgeryRefused("Genuine bundle signed by a key retired since", "BUNDLE_RETIRED_KEY", async (s) => withheld[s]!);
    await forgeryRefused("New bundle signed with the compromised key after its revocation (keys v2)", "BUNDLE_RETIRED_KEY", async (s) => signBundle(await payloadFor(s, {
      version: (await held(s)) + 10, keysVersion: rotated.keysVersion, release: { name: "evil", version: "6.6.6" }, spec: { lxd: { instances: [] } },
    }), stolen));
  });

  it("a genuine bundle as large as the limit allows is accepted over both transports alike", async () => {
    // Regression: the MQTT session cut bundles at a quarter of the HTTPS limit, so a valid bundle of
    // 256 KiB to 1 MiB was refused over MQTT only (as if forged).
    const big = { [HTTPS]: "", [MQTT]: "" };
    for (const s of SITES) {
      const config = Object.fromEntries(Array.from({ length: 150 }, (_, i) => [`user.pad${i}`, "x".repeat(4000)]));
      const p = await payloadFor(s, { version: (await held(s)) + 1, spec: { ...payloadOf(await newestGenuine(s)).spec, lxd: { ...payloadOf(await newestGenuine(s)).spec.lxd, profiles: [{ name: "big", description: "", config, devices: {} }] } } });
      big[s] = await signBundle(p, await hubKey());
      expect(big[s].length).toBeGreaterThan(600_000);
    }
    const want = { [HTTPS]: (await held(HTTPS)) + 1, [MQTT]: (await held(MQTT)) + 1 };
    await Promise.all(SITES.map((s) => deliver(s, big[s])));
    try {
      await Promise.all(SITES.map((s) => waitFor(`${s} to accept the large bundle`, async () => (await held(s)) === want[s], 30_000)));
    } finally { await Promise.all(SITES.map((s) => restore(s))); }
  });

  it("every bundle either agent ever accepted was signed by the hub, each forgery was reported once, and no secret reached a log", async () => {
    const issued = new Set((await fleet.running.db.client.execute("SELECT jws FROM bundles")).rows.map((r) => sha256(String(r.jws))));
    let accepted = 0;
    for (const s of SITES) {
      const rows = await withStateFile(fleet.stateDir(s), async (db) => (await db.execute("SELECT jws FROM bundles")).rows.map((r) => String(r.jws)));
      for (const jws of rows) {
        accepted++;
        const p = payloadOf(jws);
        expect(p.release.name, `${s} accepted a forged release`).toBe("store");
        // The only bundles not in the hub's table are the large genuine ones made with its key above.
        if (!issued.has(sha256(jws))) expect(p.spec.lxd.profiles.some((x) => x.name === "big"), `${s} accepted v${p.version} that the hub never issued`).toBe(true);
      }
      const codes = (await fleet.events(s, "bundle-rejected")).map((e) => String(e.body.code));
      const perCode = codes.reduce<Record<string, number>>((m, c) => ({ ...m, [c]: (m[c] ?? 0) + 1 }), {});
      const expected: Record<string, number> = { BUNDLE_BAD_SIGNATURE: 1, BUNDLE_WRONG_SITE: 1, BUNDLE_EXPIRED: 1, BUNDLE_UNKNOWN_KEY: 1, BUNDLE_TOO_LARGE: 1, BUNDLE_RETIRED_KEY: 2 };
      if (s === HTTPS) expected.BUNDLE_ROLLBACK = 1;
      expect(perCode, `${s}: each forgery reported once`).toEqual(expected);
    }

    for (const s of SITES) secrets.addJwkFiles("agent private key", fleet.stateDir(s));
    secrets.addJwkFiles("hub root key (private)", join(fleet.hubDataDir, "keys")).add("admin token", fleet.adminToken);
    await secrets.addHubSigningKeys(fleet.running.db);
    for (const jwt of proxy.bearers) secrets.addJwt("agent request JWT", jwt);
    const logs: Record<string, string> = { hub: fleet.hubLog.join("") };
    for (const [name, p] of fleet.agents) logs[`agent ${name}`] = p.text();
    const leaks = secrets.leaks(logs);
    expect(leaks).toEqual([]);
    expect(fleet.hubLog.length).toBeGreaterThan(100); // trace logging was on, so there was plenty to leak into

    const cases = results.map((r) => `${r.title}: ${r.code}`).join("; ");
    recordCase({
      id: "attack-bundles-both-transports",
      section: "Attacks",
      title: "Forged bundles over HTTPS and MQTT",
      done: `Real agent processes: ${HTTPS} behind a man in the middle rewriting its long-poll answers, ${MQTT} on the embedded broker where the attacker, holding the hub's own broker credentials, replaced its retained bundle. Forgeries: ${cases}. The compromised-key cases came after the operator rotated the stolen key out (retired in keys v2) and the hub re-signed every bundle with the new key.`,
      checked: "Each forgery refused by the agent with its own code and reported to the hub exactly once over its transport, the agent's bundle version unchanged; the replayed old version, over MQTT, held without a verdict and the next genuine bundle taken; a genuine bundle near the size limit accepted over both (the MQTT cap had been a quarter of HTTPS's: fixed); every bundle either agent ever accepted was issued by the hub (or signed with its key by the test), never a forged release.",
      figures: {
        "forgery cases": results.length, "forged bundles delivered": results.length * 2, "refused": results.length * 2 - 1, "held (MQTT replay)": 1,
        "forged bundles applied": 0, "bundles the agents accepted (all genuine)": accepted,
      },
      totals: { inputsTried: results.length * 2, dataLost: 0 },
    });
    recordCase({
      id: "attack-secrets-in-logs-bundles",
      section: "Attacks",
      title: "No secret in the logs of the bundle-attack run (hub and agents at trace)",
      done: "Captured everything the in-process hub (trace) and both agent processes (trace) logged during the bundle attacks, and grepped it for every secret the test knew.",
      checked: `None of ${secrets.count()} secrets (${secrets.kinds().join(", ")}) appears anywhere in the logs.`,
      figures: { "log bytes scanned": logBytes(logs), "log lines (hub)": fleet.hubLog.length, "secrets searched": secrets.count(), "secrets found": leaks.length },
    });
  });
});
