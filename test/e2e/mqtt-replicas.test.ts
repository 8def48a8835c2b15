import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OperatorClient } from "@outpost/shared";
import { start as startMosquitto, type MosquittoHandle } from "../daemons/mosquitto.ts";
import { Fleet } from "../lib/fleet.ts";
import { waitDelivered } from "../lib/mqtt.ts";
import { spawnOutpost, type OutpostProcess } from "../lib/processes.ts";
import { storeRelease } from "../lib/releases.ts";
import { SimFleet } from "../lib/sim-fleet.ts";

/**
 * Two hub replicas on one database and one Mosquitto: a bundle issued on replica A wakes the HTTPS
 * long-polls held by replica B at once (over the broker's wake topic), instead of when their wait ends.
 */
describe("hub replicas share long-poll wake-ups over MQTT", () => {
  const fleet = new Fleet();
  let broker!: MosquittoHandle;
  let b!: OutpostProcess;
  let bUrl = "";
  let sims!: SimFleet;
  const names = ["rp-1", "rp-2"];

  beforeAll(async () => {
    broker = await startMosquitto({ dynsec: { adminUser: "hub", adminPassword: "hub-secret-pw" } });
    const env = { MQTT_URL: broker.url, MQTT_USERNAME: "hub", MQTT_PASSWORD: "hub-secret-pw" };
    await fleet.startHub(env);
    b = spawnOutpost("hub-b", ["hub", "start", "--data-dir", fleet.hubDataDir, "--port", "0", "--database-url", `file:${join(fleet.hubDataDir, "hub.db")}`], env);
    bUrl = (await b.waitForOutput(/outpost hub listening on (http:\/\/\S+)/))[1]!;
    await b.waitForOutput(/mqtt broker/);
    // HTTPS agents long-polling replica B for up to 60 s: without the bus they would see A's bundle only then.
    sims = new SimFleet(() => bUrl, { agent: { transport: "https", longPollSeconds: 60 } });
    const { token } = await fleet.op.createToken({ autoApprove: true, uses: names.length });
    await sims.add(names.map((name) => ({ name })), token);
    await fleet.op.createRelease(storeRelease("1.0"));
    await new Promise((r) => setTimeout(r, 1500)); // let each agent's first long-poll reach B and be held
  });
  afterAll(async () => { await sims?.close(); await b?.kill("SIGKILL"); await fleet.close(); await broker?.stop(); });

  it("a release assigned on replica A reaches agents held by replica B within seconds", async () => {
    const opB = new OperatorClient(bUrl, fleet.adminToken);
    expect((await opB.listSites()).map((s) => s.name).sort()).toEqual(names);
    const started = Date.now();
    await fleet.op.assign({ name: "store", version: "1.0" }, ""); // on A
    await waitDelivered(fleet.op, names, 1, "https", 20_000);
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
