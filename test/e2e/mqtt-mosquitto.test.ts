import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createClient } from "@libsql/client";
import { generateKeyPair, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { start as startMosquitto, type MosquittoHandle } from "../daemons/mosquitto.ts";
import { Fleet } from "../lib/fleet.ts";
import { deliveries, journaledEventIds, mosquittoClient, oneEventReport, siteBrokerSecret, waitDelivered } from "../lib/mqtt.ts";
import { waitFor } from "../lib/processes.ts";
import { storeRelease } from "../lib/releases.ts";
import { SimFleet } from "../lib/sim-fleet.ts";

/**
 * The hub on an external Mosquitto 2 (dynamic-security plugin), started by the test: the hub gives
 * itself a role, provisions one broker client + role per approved site and hands its secret to the
 * agent over HTTPS. Agents run `transport: auto`. Also: the broker's ACLs with the real mosquitto
 * clients, a forged retained bundle from someone holding broker admin rights, the broker going away
 * (agents fall back to HTTPS and keep converging, then return to MQTT, losing no report), and a
 * revoked site losing its broker account.
 */
describe("MQTT through an external Mosquitto", () => {
  const fleet = new Fleet();
  const names = ["ms-1", "ms-2", "ms-3"];
  let sims!: SimFleet;
  let broker!: MosquittoHandle;
  const admin = { adminUser: "outpost-admin", adminPassword: `pw-${Date.now().toString(36)}` };
  const connected = (site: string) => new RegExp(`New client connected from \\S+ as ${site} `).test(readFileSync(broker.logFile, "utf8"));
  const allConnected = () => waitFor("every site connected to mosquitto", () => names.every(connected), 30_000);
  const hubDb = () => createClient({ url: `file:${join(fleet.hubDataDir, "hub.db")}` });
  let version = 0;
  const assign = async (v: string) => { await fleet.op.assign({ name: "store", version: v }, ""); return ++version; };

  beforeAll(async () => {
    broker = await startMosquitto({ dynsec: admin });
    await fleet.startHub({ MQTT_URL: broker.url, MQTT_USERNAME: admin.adminUser, MQTT_PASSWORD: admin.adminPassword });
    sims = new SimFleet(() => fleet.url, { agent: { transport: "auto" } });
    const { token } = await fleet.op.createToken({ autoApprove: true, uses: names.length });
    await sims.add(names.map((name) => ({ name })), token);
    for (const v of ["1.0", "1.1", "1.2", "1.3"]) await fleet.op.createRelease(storeRelease(v));
    await allConnected();
  });
  afterAll(async () => { await sims?.close(); await fleet.close(); await broker?.stop(); });

  it("assigning a release reaches every site over MQTT", async () => {
    const v = await assign("1.0");
    await waitDelivered(fleet.op, names, v, "mqtt", 15_000);
    await fleet.waitApplied(names, () => v);
    // The hub's secrets stay out of its log.
    expect(fleet.hub.text()).not.toContain(admin.adminPassword);
    for (const s of names) expect(fleet.hub.text()).not.toContain((await siteBrokerSecret(sims.stateDir(s)))!);
  });

  it("the broker confines a site to its own topics (mosquitto_sub / mosquitto_pub)", async () => {
    const [a, b] = names as [string, string];
    // The mosquitto clients log in as site a (client id a): with a's own agent connected too, the
    // broker would hand the session back and forth between them and the checks below would race.
    // a's broker secret stays in its state file; the agent comes back at the end.
    await sims.stop(a);
    onTestFinished(() => sims.start(a));
    const creds = ["-h", broker.host, "-p", String(broker.port), "-i", a, "-u", a, "-P", (await siteBrokerSecret(sims.stateDir(a)))!];
    const own = await mosquittoClient("mosquitto_sub", [...creds, "-t", `outpost/v1/sites/${a}/bundle`, "-C", "1", "-W", "5"]);
    expect(own.out.split(".")).toHaveLength(3);
    for (const t of [`outpost/v1/sites/${b}/bundle`, "outpost/v1/sites/+/bundle", "#"]) {
      const other = await mosquittoClient("mosquitto_sub", [...creds, "-t", t, "-C", "1", "-W", "3"]);
      expect(other.out).not.toMatch(/eyJ/);
      expect(other.out).toMatch(/subscription requests were denied/);
    }
    const forged = oneEventReport("pretending to be b");
    await mosquittoClient("mosquitto_pub", [...creds, "-q", "1", "-t", `outpost/v1/sites/${b}/reports`, "-m", forged.body]);
    const honest = oneEventReport("a, honestly");
    await mosquittoClient("mosquitto_pub", [...creds, "-q", "1", "-t", `outpost/v1/sites/${a}/reports`, "-m", honest.body]);
    await waitFor("a's own report stored", async () => (await fleet.op.reports({ site: a, kind: "event", limit: 10_000 })).some((r) => r.id === honest.id));
    expect((await fleet.op.reports({ kind: "event", limit: 10_000 })).some((r) => r.id === forged.id)).toBe(false);
    // a's secret with b's client id: refused (the broker binds each account to its site's client id).
    const hijack = await mosquittoClient("mosquitto_sub", ["-h", broker.host, "-p", String(broker.port), "-i", b, "-u", a, "-P", creds[7]!, "-t", `outpost/v1/sites/${a}/bundle`, "-C", "1", "-W", "3"]);
    expect(hijack.code).not.toBe(0);
    expect(hijack.out).not.toMatch(/eyJ/);
  });

  it("a forged retained bundle published by a broker admin is refused by the agent's verification", async () => {
    const [a] = names as [string];
    const before = (await fleet.site(a)).appliedVersion;
    const { privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519" });
    const forged = await new SignJWT({ apiVersion: "outpost/v1", site: a, version: 999, release: { name: "evil", version: "6.6.6" } })
      .setProtectedHeader({ alg: "EdDSA", kid: "attacker" }).sign(privateKey);
    const pub = await mosquittoClient("mosquitto_pub", ["-h", broker.host, "-p", String(broker.port), "-u", admin.adminUser, "-P", admin.adminPassword,
      "-i", "intruder", "-q", "1", "-r", "-t", `outpost/v1/sites/${a}/bundle`, "-m", forged]);
    expect(pub.code, pub.out).toBe(0);
    const ev = await waitFor("a bundle-rejected event for the forgery", async () =>
      (await fleet.events(a, "bundle-rejected")).find((e) => e.body.bundleVersion === 999));
    expect(String(ev.body.message)).toMatch(/via mqtt/);
    expect((await fleet.site(a)).appliedVersion).toBe(before);
    // The next real bundle still gets through (and replaces the forgery on the broker).
    const v = await assign("1.1");
    await waitDelivered(fleet.op, names, v, "mqtt", 15_000);
  });

  it("broker stopped: sites fall back to HTTPS and keep converging; broker back: MQTT again, no report lost", async () => {
    await broker.stop();
    const down = await assign("1.2");
    await waitDelivered(fleet.op, names, down, "https", 30_000);
    await fleet.waitApplied(names, () => down);

    // A fresh broker on the same port with an empty dynamic-security file (a lost volume, say): the hub
    // gives itself its role again and republishes every bundle; agents get new broker secrets.
    broker = await startMosquitto({ dynsec: admin, port: broker.port });
    await allConnected();
    const back = await assign("1.3");
    await waitDelivered(fleet.op, names, back, "mqtt", 15_000);
    await fleet.waitApplied(names, () => back);

    for (const s of names) {
      const d = await deliveries(fleet.op, s);
      expect(d.map((x) => x.version).sort((x, y) => x - y)).toEqual([1, 2, 3, 4]); // each once, none missed
      const ids = await journaledEventIds(sims.stateDir(s));
      await waitFor(`${s}'s events at the hub`, async () => {
        const held = new Set((await fleet.op.reports({ site: s, kind: "event", limit: 10_000 })).map((r) => r.id));
        return ids.every((id) => held.has(id));
      });
    }
  });

  it("a revoked site loses its broker account", async () => {
    const c = names[2]!;
    expect(await broker.dynsec!.ctrl("getClient", c)).toMatch(new RegExp(`Username:\\s+${c}`));
    const db = hubDb();
    try { await db.execute({ sql: "UPDATE sites SET status = 'revoked' WHERE name = ?", args: [c] }); } finally { db.close(); }
    await waitFor(`${c}'s broker client deleted`, async () => !/Username:/.test(await broker.dynsec!.ctrl("getClient", c).catch((e: Error) => e.message)), 20_000);
  });
});
