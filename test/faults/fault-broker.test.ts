import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentClient, importPrivate } from "@outpost/shared";
import { deleteSimObject, getSimObject, readAgentStatus } from "@outpost/agent";
import { start as startMosquitto, type MosquittoHandle } from "../daemons/mosquitto.ts";
import { freePort } from "../daemons/util.ts";
import { Fleet } from "../lib/fleet.ts";
import { deliveries, mosquittoClient, waitDelivered } from "../lib/mqtt.ts";
import { waitFor } from "../lib/processes.ts";
import { storeRelease } from "../lib/releases.ts";
import { brokerUnavailableAnswers, fleetLedgerSettled, serverErrors } from "./lib/ledger.ts";
import { recordCase } from "./report.ts";

/**
 * The broker goes away under sites that use MQTT alone (transport mqtt: no HTTPS fallback for
 * bundles or reports): the hub's embedded broker dies with a SIGKILLed hub and comes back on the same
 * port, then on another one (the hub advertises where it is now); an external Mosquitto is killed and
 * replaced by a fresh one that has lost its accounts. Each time the agents keep enforcing, queue their
 * events, reconnect by themselves (fetching their broker address and credentials again when the old
 * ones no longer work), then take the next release over MQTT and deliver every event exactly once.
 */
const env = { OUTPOST_TRANSPORT: "mqtt", OUTPOST_BACKOFF_CAP_MS: "1000", OUTPOST_HUB_TIMEOUT_SECONDS: "4" };

async function driftAndQueue(fleet: Fleet, site: string): Promise<void> {
  const dir = fleet.stateDir(site);
  expect(await deleteSimObject(dir, "lxd.instance", "pos-1")).toBe(true);
  await waitFor(`${site}: pos-1 recreated while the broker is down`, () => getSimObject(dir, "lxd.instance", "pos-1"), 30_000);
  await waitFor(`${site}: the repair's event queued`, async () => (await readAgentStatus(dir)).recentEvents.some((e) => e.type === "drift-healed"), 30_000);
}

/** Runs `fn`; when it fails, the error carries what the hub and the agents last said (a broker outage is hard to read otherwise). */
async function withOutputs<T>(fleet: Fleet, fn: () => Promise<T>): Promise<T> {
  try { return await fn(); } catch (e) {
    const tails = [`hub:\n${fleet.hub.text().slice(-4000)}`, ...[...fleet.agents].map(([s, p]) => `${s}:\n${p.text().slice(-3000)}`)];
    throw new Error(`${(e as Error).message}\n${tails.join("\n")}`);
  }
}

/** Every event of every site at the hub exactly once, in order, and no 5xx: the end of each case. */
/** Three releases `major`.0-2, the sites' agents enrolled (transport mqtt), `major`.0 delivered to all over MQTT. */
async function mqttSites(fleet: Fleet, sites: string[], major: number): Promise<void> {
  for (const v of [0, 1, 2]) await fleet.op.createRelease(storeRelease(`${major}.${v}`));
  const { token } = await fleet.op.createToken({ autoApprove: true, uses: sites.length });
  for (const s of sites) await fleet.startAgent(s, { token, env });
  await waitFor("sites enrolled", async () => (await fleet.op.listSites()).length === sites.length);
  await fleet.op.assign({ name: "store", version: `${major}.0` }, "");
  await waitDelivered(fleet.op, sites, 1, "mqtt", 30_000);
}

async function settled(fleet: Fleet, sites: string[]) {
  const { total, bad } = await fleetLedgerSettled(fleet.hubDataDir, Object.fromEntries(sites.map((s) => [s, fleet.stateDir(s)])));
  expect(bad).toEqual({});
  const errors5xx = serverErrors(fleet.hub.text());
  expect(errors5xx).toBe(0);
  return { total, errors5xx };
}

describe("broker restarts under MQTT-only sites", () => {
  describe("the embedded broker, with the hub SIGKILLed", () => {
    const fleet = new Fleet();
    const sites = ["mq-1", "mq-2"];
    let mqttPort = 0;
    let version = 0;

    beforeAll(async () => {
      mqttPort = await freePort();
      await fleet.startHub({ OUTPOST_MQTT_PORT: String(mqttPort) });
      await mqttSites(fleet, sites, 4);
      version = 1;
    });
    afterAll(() => fleet.close());

    it("same port, then another port: sites reconnect by themselves and lose nothing", async () => {
      const restarts: string[] = [];
      for (const [i, move] of [false, true].entries()) {
        await fleet.stopHub("SIGKILL");
        for (const s of sites) await driftAndQueue(fleet, s);
        if (move) mqttPort = await freePort();
        await fleet.startHub({ OUTPOST_MQTT_PORT: String(mqttPort) });
        restarts.push(move ? `SIGKILL, back on a new port ${mqttPort}` : "SIGKILL, back on the same port");
        await fleet.op.assign({ name: "store", version: `4.${i + 1}` }, "");
        version++;
        await withOutputs(fleet, () => waitDelivered(fleet.op, sites, version, "mqtt", 45_000));
        await fleet.waitApplied(sites, () => version, 30_000);
      }
      for (const s of sites) {
        const d = await deliveries(fleet.op, s);
        expect(d.map((x) => `${x.version}:${x.via}`).sort()).toEqual(["1:mqtt", "2:mqtt", "3:mqtt"]);
      }
      const { total, errors5xx } = await settled(fleet, sites);
      recordCase({
        id: "broker-embedded-restart", section: "Faults", title: "Embedded broker restart (hub SIGKILLed), MQTT-only sites",
        done: `Two real agent processes on transport mqtt (bundles and reports over the broker only). The hub, and its embedded broker with it, was SIGKILLed twice: ${restarts.join("; ")}. While it was down each site had an instance deleted.`,
        checked: "Each site healed the drift with the broker gone and queued the event; after each restart it reconnected by itself (after the move, by asking the hub over HTTPS where the broker is now), received the next release over MQTT (each version exactly once, none over HTTPS) and applied it; every event it journaled was stored at the hub exactly once, in order; no 5xx.",
        figures: { "broker restarts": restarts.length, "bundles delivered over mqtt": sites.length * version, "events produced": total.produced, "events stored": total.stored, "events lost": total.missing.length, "5xx seen": errors5xx },
        totals: { eventsProduced: total.produced, eventsStored: total.stored, serverErrors: errors5xx, dataLost: total.missing.length },
      });
    });
  });

  describe("an external Mosquitto, killed and replaced by one without accounts", () => {
    const fleet = new Fleet();
    const sites = ["mqx-1", "mqx-2"];
    let broker!: MosquittoHandle;
    const admin = { adminUser: "outpost-admin", adminPassword: `pw-${Date.now().toString(36)}` };
    let version = 0;

    beforeAll(async () => {
      broker = await startMosquitto({ dynsec: admin });
      await fleet.startHub({ MQTT_URL: broker.url, MQTT_USERNAME: admin.adminUser, MQTT_PASSWORD: admin.adminPassword });
      await mqttSites(fleet, sites, 5);
      version = 1;
    });
    afterAll(async () => { await fleet.close(); await broker?.stop(); });

    it("sites get new broker accounts from the hub and lose nothing", async () => {
      await broker.stop();
      for (const s of sites) await driftAndQueue(fleet, s);
      broker = await startMosquitto({ dynsec: admin, port: broker.port });
      await fleet.op.assign({ name: "store", version: "5.1" }, "");
      version++;
      await withOutputs(fleet, () => waitDelivered(fleet.op, sites, version, "mqtt", 45_000));
      await fleet.waitApplied(sites, () => version, 30_000);
      const { total, errors5xx } = await settled(fleet, sites);
      recordCase({
        id: "broker-mosquitto-restart", section: "Faults", title: "External Mosquitto killed, replaced by one that lost its accounts",
        done: "Two real agent processes on transport mqtt through a real Mosquitto 2 (dynamic security). The broker was stopped; each site had an instance deleted; a fresh Mosquitto came up on the same port with an empty account database.",
        checked: "Each site healed the drift and queued the event while the broker was gone; then, refused by the new broker, it fetched new credentials from the hub by itself (the hub re-provisioned its account), took the next release over MQTT and applied it; every event it journaled was stored at the hub exactly once, in order; no 5xx other than the hub's deliberate 503 MQTT_UNAVAILABLE ('cannot reach the broker right now', counted on its own) while the new broker was not yet provisioned.",
        figures: { "broker restarts": 1, "503 MQTT_UNAVAILABLE (deliberate)": brokerUnavailableAnswers(fleet.hub.text()), "events produced": total.produced, "events stored": total.stored, "events lost": total.missing.length, "5xx seen": errors5xx },
        totals: { eventsProduced: total.produced, eventsStored: total.stored, serverErrors: errors5xx, dataLost: total.missing.length },
      });
    });

    it("a site that asks for broker credentials again (its answer lost) still gets a working one", async () => {
      const site = sites[0]!;
      const client = new AgentClient(fleet.url, site, await importPrivate(JSON.parse(readFileSync(join(fleet.stateDir(site), "agent.key"), "utf8"))));
      // Three times in a row, as an agent whose answers were lost on the way would ask.
      const passwords: string[] = [];
      for (let i = 0; i < 3; i++) passwords.push((await client.mqtt()).password!);
      expect(new Set(passwords).size).toBe(3);
      // The last one is the site's password now: the broker takes it (this login takes over the agent's session).
      const probe = await mosquittoClient("mosquitto_sub", ["-h", broker.host, "-p", String(broker.port), "-i", site, "-u", site, "-P", passwords[2]!,
        "-t", `outpost/v1/sites/${site}/bundle`, "-C", "1", "-W", "5"]);
      expect(probe.out.split(".")).toHaveLength(3);
      // The agent, its saved password rotated away, is refused, fetches a new one and carries on by itself.
      await fleet.op.assign({ name: "store", version: "5.2" }, "");
      version++;
      await withOutputs(fleet, () => waitDelivered(fleet.op, sites, version, "mqtt", 45_000));
      const errors5xx = serverErrors(fleet.hub.text());
      expect(errors5xx).toBe(0);
      recordCase({
        id: "broker-credentials-asked-again", section: "Faults", title: "Broker credentials asked for again (an answer lost)",
        done: "A site of the external-Mosquitto hub asked GET /agent/v1/mqtt three times in a row, as an agent does when an answer is lost or after a failed connection; then the last password was used to log in as the site, which took over the agent's session.",
        checked: "Every request was answered with a new password (before the fix, Mosquitto 2.0.11 answered the second provisioning of a site with 'Internal error' and the hub refused that site's credentials with 503 for good); the broker accepted the last one; the agent, whose saved password was now stale, got refused, fetched a new one by itself and received the next release over MQTT; no 5xx.",
        figures: { "credential requests": passwords.length, "distinct passwords": new Set(passwords).size, "5xx seen": errors5xx },
        totals: { serverErrors: errors5xx },
      });
    });
  });
});
