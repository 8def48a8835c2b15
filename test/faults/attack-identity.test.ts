import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, type CryptoKey } from "jose";
import { connectAsync } from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readAgentStatus } from "@outpost/agent";
import { AgentClient, HUB_AUDIENCE, importPrivate, newKeyPair, signAgentJwt, type KeyPairJwk } from "@outpost/shared";
import { openDb, type HubDb } from "@outpost/hub";
import { snapshotDb } from "@outpost/hub/test-support/harness";
import { Fleet } from "../lib/fleet.ts";
import { brokerUrls, oneEventReport } from "../lib/mqtt.ts";
import { REPO, waitFor } from "../lib/processes.ts";
import { TamperingProxy } from "../lib/proxy.ts";
import { storeRelease } from "../lib/releases.ts";
import { recordCase } from "./report.ts";
import { KnownSecrets, logBytes } from "./lib/attack-secrets.ts";

/**
 * Agent identity under attack, against a real hub process and real agent processes (all at trace
 * level, their output kept for the secrets check): request tokens captured on the wire and
 * replayed (over HTTPS, and as an MQTT password), tokens for another site or forged in other ways,
 * and sites an operator revokes with `outpost sites revoke` while their agents run: their keys
 * must stop working at once, over HTTPS and MQTT. Every refused request must leave the hub's
 * database as it was (bar the token ids it burns and last-seen times, which is the point).
 */
const fleet = new Fleet();
const proxy = new TamperingProxy(() => fleet.url);
const secrets = new KnownSecrets();
const H = "id-https", M = "id-mqtt", IDLE = "id-idle";
let db: HubDb;
let brokerUrl = "";
let idleKey: KeyPairJwk;
let idle: CryptoKey;
const figures: Record<string, number | string> = {};
/** Forged or replayed credentials presented (each HTTPS request and each MQTT login counts once). */
let attempts = 0, serverErrors = 0;

const agentKey = async (site: string): Promise<CryptoKey> => importPrivate(JSON.parse(readFileSync(join(fleet.stateDir(site), "agent.key"), "utf8")));
const bundleWith = (token: string) => fetch(`${fleet.url}/agent/v1/bundle?known=0&wait=0`, { headers: { authorization: `Bearer ${token}` } });
/**
 * Left out of the before/after comparison: the token ids a verified token burns and last-seen times
 * (by design), and while the two agents run, what they report about themselves (reports, and the
 * status columns those update). Once they are removed nothing is left out but the first two.
 */
const BOOKKEEPING = { tables: ["used_jtis"], columns: { sites: ["last_seen_at"] } };
const LIVE_AGENTS = { tables: ["used_jtis", "reports"], columns: { sites: ["last_seen_at", "state", "stale", "applied_version", "reported_release", "status_at"] } };
let ignore: Parameters<typeof snapshotDb>[1] = LIVE_AGENTS;
async function refusedUnchanged(what: string, send: () => Promise<{ status: number; code?: string }>, want: { status: number; code: string }) {
  attempts++;
  const before = await snapshotDb(db, ignore);
  const got = await send();
  if (got.status >= 500) serverErrors++;
  expect({ what, ...got }).toEqual({ what, ...want });
  expect(await snapshotDb(db, ignore), `${what} changed the database`).toEqual(before);
}
type S = typeof H | typeof M;
const answer = async (res: Response) => ({ status: res.status, code: ((await res.json()) as { error?: { code: string } }).error?.code });
/** An MQTT login: resolves true when the broker let it in (then hangs up). */
async function mqttLogin(clientId: string, username: string, password: string): Promise<boolean> {
  attempts++;
  const c = await connectAsync(brokerUrl, { clientId, username, password, reconnectPeriod: 0, connectTimeout: 5000, protocolVersion: 4 }).catch(() => null);
  if (c) await c.endAsync(true);
  return c !== null;
}

beforeAll(async () => {
  await fleet.startHub({ OUTPOST_LOG_LEVEL: "trace" });
  brokerUrl = (await brokerUrls(fleet.hub)).find((u) => u.startsWith("mqtt:"))!;
  await proxy.start();
  db = await openDb({ url: `file:${join(fleet.hubDataDir, "hub.db")}` });
  for (const [site, transport] of [[H, "https"], [M, "mqtt"]] as const) {
    const { token } = await fleet.op.createToken({ autoApprove: true });
    secrets.addEnrollmentToken(token);
    await fleet.startAgent(site, { token, hubUrl: proxy.url, env: { OUTPOST_TRANSPORT: transport, OUTPOST_LONG_POLL_SECONDS: "2", OUTPOST_LOG_LEVEL: "trace" } });
  }
  // A site whose key the test holds (no agent runs for it): for logins that must not disturb a live session.
  idleKey = await newKeyPair();
  idle = await importPrivate(idleKey.privateJwk);
  const t = (await fleet.op.createToken({ autoApprove: true })).token;
  secrets.addEnrollmentToken(t).addJwk("agent private key", idleKey.privateJwk);
  await new AgentClient(fleet.url, IDLE, idle).enroll({ token: t, site: IDLE, publicKey: idleKey.publicJwk });
  await fleet.op.createRelease(storeRelease("1.0"));
  await fleet.op.createRelease(storeRelease("1.1"));
  await fleet.op.assign({ name: "store", version: "1.0" }, "");
  await fleet.waitApplied([H, M], () => 1, 60_000);
}, 180_000);
afterAll(async () => { db?.close(); await fleet.close(); await proxy.close(); });

describe("agent identity attacks", () => {
  it("request tokens captured on the wire are refused when replayed, over HTTPS and as an MQTT password", async () => {
    // Every token the proxy saw was already used by the agent that signed it. Fresh ones only: a token
    // past its minute (and the leeway) is refused as expired before anyone asks whether it was seen.
    for (const j of proxy.bearers) secrets.addJwt("agent request JWT", j);
    proxy.bearers.clear();
    await waitFor("a dozen of the agents' request tokens captured", () => proxy.bearers.size >= 12, 30_000);
    const captured = [...proxy.bearers];
    for (const jwt of captured) await refusedUnchanged("a replayed request token", async () => answer(await bundleWith(jwt)), { status: 401, code: "AUTH_REPLAY" });
    // The same tokens as MQTT passwords (username and client id set right): the replay store is shared.
    const ofH = captured.filter((j) => JSON.parse(Buffer.from(j.split(".")[1]!, "base64url").toString()).iss === H).slice(0, 3);
    for (const jwt of ofH) expect(await mqttLogin(H, H, jwt), "an HTTPS request token replayed as an MQTT password").toBe(false);
    // And the other way round: a password that logged in once does not log in again, nor works over HTTPS.
    const once = await signAgentJwt(IDLE, idle);
    expect(await mqttLogin(IDLE, IDLE, once)).toBe(true);
    expect(await mqttLogin(IDLE, IDLE, once)).toBe(false);
    await refusedUnchanged("an MQTT password replayed over HTTPS", async () => answer(await bundleWith(once)), { status: 401, code: "AUTH_REPLAY" });
    figures["captured request tokens replayed over HTTPS (all refused)"] = captured.length;
    figures["replayed as MQTT passwords (all refused)"] = ofH.length + 1;
    for (const j of [...captured, once]) secrets.addJwt("agent request JWT", j);
  });

  it("tokens for another site, or forged, are refused over HTTPS and MQTT", async () => {
    const h = await agentKey(H);
    const now = Math.floor(Date.now() / 1000);
    const signed = (claims: { iss: string; aud?: string; iat?: number; exp?: number }, key: CryptoKey, header: Record<string, unknown> = { alg: "EdDSA", typ: "JWT" }) =>
      new SignJWT({}).setProtectedHeader(header as { alg: string }).setIssuer(claims.iss).setSubject(claims.iss).setAudience(claims.aud ?? HUB_AUDIENCE)
        .setIssuedAt(claims.iat ?? now).setExpirationTime(claims.exp ?? now + 60).setJti(`${Math.random()}`).sign(key);
    const attacker = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
    secrets.addJwk("attacker private key", await exportJWK(attacker.privateKey));
    const forged: [string, () => Promise<string>, string][] = [
      ["site A's key claiming to be site B", () => signed({ iss: M }, h), "AUTH_INVALID"],
      ["an attacker's key claiming to be a site", () => signed({ iss: H }, attacker.privateKey), "AUTH_INVALID"],
      ["the attacker's key, with its kid in the header", async () => signed({ iss: H }, attacker.privateKey, { alg: "EdDSA", kid: await calculateJwkThumbprint(await exportJWK(attacker.publicKey)) }), "AUTH_INVALID"],
      ["a site's own key, for another audience", () => signed({ iss: H, aud: "another-hub" }, h), "AUTH_INVALID"],
      ["a site's own key, expired", () => signed({ iss: H, iat: now - 600, exp: now - 500 }, h), "AUTH_INVALID"],
      ["a site's own key, valid for 10 minutes", () => signed({ iss: H, exp: now + 600 }, h), "AUTH_TTL"],
      ["a site's own key, issued an hour ahead", () => signed({ iss: H, iat: now + 3600, exp: now + 3660 }, h), "AUTH_INVALID"],
      ["alg none", async () => `${Buffer.from('{"alg":"none"}').toString("base64url")}.${Buffer.from(JSON.stringify({ iss: H, sub: H, aud: HUB_AUDIENCE, iat: now, exp: now + 60, jti: "x" })).toString("base64url")}.`, "AUTH_INVALID"],
      ["a site that never enrolled", () => signed({ iss: "id-nobody" }, h), "AUTH_UNKNOWN_SITE"],
    ];
    for (const [what, make, code] of forged) {
      const jwt = await make();
      secrets.addJwt("forged request JWT", jwt);
      await refusedUnchanged(what, async () => answer(await bundleWith(jwt)), { status: 401, code });
      const iss = JSON.parse(Buffer.from(jwt.split(".")[1]!, "base64url").toString()).iss as string;
      if (iss !== "id-nobody") expect(await mqttLogin(iss, iss, jwt), `${what} as an MQTT login`).toBe(false);
    }
    // A genuine, fresh token of one site used to log in to the broker as another (or with another's client id).
    expect(await mqttLogin(IDLE, M, await signAgentJwt(IDLE, idle))).toBe(false);
    expect(await mqttLogin(M, IDLE, await signAgentJwt(IDLE, idle))).toBe(false);
    // Reports with another site's token go nowhere near the other site: the site is the token's, never the body's.
    const report = oneEventReport("written by id-idle");
    const res = await fetch(`${fleet.url}/agent/v1/reports`, { method: "POST", headers: { authorization: `Bearer ${await signAgentJwt(IDLE, idle)}`, "content-type": "application/json" }, body: report.body });
    expect(res.status).toBe(200);
    expect((await fleet.op.reports({ site: M, kind: "event", limit: 10_000 })).some((r) => r.id === report.id)).toBe(false);
    expect((await fleet.op.reports({ site: IDLE, kind: "event", limit: 10_000 })).some((r) => r.id === report.id)).toBe(true);
    figures["forged request tokens (HTTPS and MQTT, all refused)"] = forged.length;
  });

  it("a site revoked with `outpost sites revoke` loses HTTPS and MQTT at once, and gets nothing more", async () => {
    const keys = { [H]: await agentKey(H), [M]: await agentKey(M) };
    // Signed before the removal, never used: a token in flight at the moment the operator acts.
    const inFlight = { [H]: await signAgentJwt(H, keys[H]), [M]: await signAgentJwt(M, keys[M]) };
    const appliedBefore = { [H]: (await readAgentStatus(fleet.stateDir(H))).bundleVersion, [M]: (await readAgentStatus(fleet.stateDir(M))).bundleVersion };
    const cli = spawnSync(process.execPath, [join(REPO, "bin/outpost.js"), "--hub", fleet.url, "sites", "revoke", H, M], {
      env: { ...process.env, OUTPOST_TOKEN: fleet.adminToken }, encoding: "utf8",
    });
    expect(cli.status, cli.stderr).toBe(0);
    expect(cli.stdout).toContain(`revoked ${H}`);
    ignore = BOOKKEEPING;
    // At once: the first request after the command returned is refused, and the broker already cut the
    // MQTT session (the removal does it itself: the log line is the removal's, not the 5 s sweep's).
    for (const s of [H, M] as S[]) await refusedUnchanged(`${s}'s in-flight token after removal`, async () => answer(await bundleWith(inFlight[s])), { status: 403, code: "AUTH_SITE_REVOKED" });
    await waitFor("the hub to log the removed site's disconnection", () => new RegExp(`"site":"${M}".*"msg":"disconnected a revoked site"`).test(fleet.hub.text()), 10_000);
    expect(await mqttLogin(M, M, await signAgentJwt(M, keys[M]))).toBe(false);
    await refusedUnchanged("a removed site asking for broker credentials", async () => answer(await fetch(`${fleet.url}/agent/v1/mqtt`, { headers: { authorization: `Bearer ${await signAgentJwt(M, keys[M])}` } })), { status: 403, code: "AUTH_SITE_REVOKED" });
    const late = oneEventReport("after removal");
    await refusedUnchanged("a removed site's reports", async () => answer(await fetch(`${fleet.url}/agent/v1/reports`, {
      method: "POST", headers: { authorization: `Bearer ${await signAgentJwt(H, keys[H])}`, "content-type": "application/json" }, body: late.body,
    })), { status: 403, code: "AUTH_SITE_REVOKED" });

    // It gets no new bundle, stays listed as revoked, and the removal is in the audit log.
    const assigned = await fleet.op.assign({ name: "store", version: "1.1" }, "");
    expect(assigned.assigned.map((a) => a.site)).toEqual([IDLE]);
    const listed = await fleet.op.listSites();
    expect(listed.filter((s) => s.status === "revoked").map((s) => s.name).sort()).toEqual([H, M]);
    const audit = (await fleet.op.audit({ limit: 50 })).filter((e) => e.method === "POST" && e.route === "/api/v1/sites/:site/revoke");
    expect(audit.map((e) => [e.target, e.status, e.actor]).sort()).toEqual([[`site=${H}`, 200, "user:admin"], [`site=${M}`, 200, "user:admin"]]);
    // The agents keep enforcing their last good bundle, and say they were revoked.
    await waitFor("both agents to notice the removal", () => /the hub has revoked this site/.test(fleet.agents.get(H)!.text()) && /mqtt broker refused our login/.test(fleet.agents.get(M)!.text()), 30_000);
    for (const s of [H, M] as S[]) expect((await readAgentStatus(fleet.stateDir(s))).bundleVersion).toBe(appliedBefore[s]);
    for (const s of [H, M] as S[]) secrets.addJwt("agent request JWT", inFlight[s]);
    figures["sites revoked"] = 2;
  });

  it("no secret reached the hub's or the agents' logs, and the cases are recorded", async () => {
    for (const s of [H, M]) secrets.addJwkFiles("agent private key", fleet.stateDir(s));
    secrets.addJwkFiles("hub root key (private)", join(fleet.hubDataDir, "keys")).add("admin token", fleet.adminToken);
    await secrets.addHubSigningKeys(db);
    for (const jwt of proxy.bearers) secrets.addJwt("agent request JWT", jwt);
    const logs: Record<string, string> = { "hub process": fleet.hub.text() };
    for (const [name, p] of fleet.agents) logs[`agent ${name}`] = p.text();
    const leaks = secrets.leaks(logs);
    expect(leaks).toEqual([]);

    recordCase({
      id: "attack-agent-identity",
      section: "Attacks",
      title: "Agent identity: replayed, foreign and forged request tokens; a site removed by an operator",
      done: "A real hub process and two real agents (one on HTTPS behind a proxy that captured every request token, one on MQTT). Replayed every captured token over HTTPS and some as MQTT passwords (and an MQTT password over HTTPS); sent tokens of one site claiming another, signed by an attacker, for another audience, expired, too long-lived, from the future, alg none, of an unknown site, over HTTPS and as MQTT logins; then revoked both sites with `outpost sites revoke` while their agents ran.",
      checked: "Every replayed or forged token refused (401 with its code; MQTT login refused) with the hub's database unchanged; a site's reports land on the token's site only. After the removal the very next request with a token signed before it is 403 AUTH_SITE_REVOKED, the hub had already cut the MQTT session itself (not the periodic sweep), new logins and credential requests are refused, reports are refused, no bundle is issued to the removed sites, they are listed as revoked, the removal is audited, and the agents keep enforcing their last good bundle.",
      figures: { ...figures, "credentials presented in all": attempts, "5xx seen": serverErrors },
      totals: { inputsTried: attempts, serverErrors },
    });
    recordCase({
      id: "attack-secrets-in-logs-identity",
      section: "Attacks",
      title: "No secret in the logs of the identity-attack run (hub process and agents at trace)",
      done: "Kept the whole output of the hub process (trace, including what `outpost hub start` prints) and both agent processes (trace) through the identity attacks and grepped it for every secret the test knew.",
      checked: `None of ${secrets.count()} secrets (${secrets.kinds().join(", ")}) appears anywhere in the output.`,
      figures: { "log bytes scanned": logBytes(logs), "secrets searched": secrets.count(), "secrets found": leaks.length },
    });
  });
});
