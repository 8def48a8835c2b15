import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { Fleet } from "../lib/fleet.ts";
import { brokerUrls, deliveries, journaledEventIds, mosquittoClient, oneEventReport, siteJwt, waitDelivered } from "../lib/mqtt.ts";
import { waitFor } from "../lib/processes.ts";
import { storeRelease } from "../lib/releases.ts";
import { SimFleet } from "../lib/sim-fleet.ts";

/**
 * The hub's embedded broker (aedes, started with the hub by default) with agents on `transport: mqtt`:
 * bundles arrive over MQTT only, reports go out over MQTT only and are stored once each, and the
 * broker enforces "a site reads and writes only its own topics" against the real mosquitto clients
 * too, with a site's own credentials (its name + a fresh JWT signed by its key).
 */
describe("MQTT with the embedded broker", () => {
  const fleet = new Fleet();
  const names = ["mq-1", "mq-2", "mq-3"];
  let sims!: SimFleet;
  let host = "", port = 0;

  beforeAll(async () => {
    await fleet.startHub();
    const tcp = new URL((await brokerUrls(fleet.hub)).find((u) => u.startsWith("mqtt:"))!);
    host = tcp.hostname; port = Number(tcp.port);
    sims = new SimFleet(() => fleet.url, { agent: { transport: "mqtt" } });
    const { token } = await fleet.op.createToken({ autoApprove: true, uses: names.length });
    await sims.add(names.map((name) => ({ name })), token);
    await fleet.op.createRelease(storeRelease("1.0"));
    await fleet.op.createRelease(storeRelease("1.1", { instances: 3 }));
  });
  afterAll(async () => { await sims?.close(); await fleet.close(); });

  it("assigning a release reaches every site over MQTT, and each report is stored once", async () => {
    await fleet.op.assign({ name: "store", version: "1.0" }, "");
    await fleet.waitApplied(names, () => 1, 30_000);
    await fleet.op.assign({ name: "store", version: "1.1" }, "");
    await fleet.waitApplied(names, () => 2, 30_000);
    // Both versions came over MQTT (the agents have no HTTPS poll at all on transport mqtt); how fast
    // is bench notify's business, not a test's.
    for (const s of names) {
      const d = await deliveries(fleet.op, s);
      expect(d.map((x) => `${x.version}:${x.via}`).sort()).toEqual(["1:mqtt", "2:mqtt"]);
    }

    // Every event each agent queued is at the hub, exactly once, and its outbox drained.
    for (const s of names) {
      const ids = await journaledEventIds(sims.stateDir(s));
      await waitFor(`${s}'s events at the hub`, async () => {
        const held = (await fleet.op.reports({ site: s, kind: "event", limit: 10_000 })).map((r) => r.id);
        return ids.every((id) => held.includes(id)) && held.length === new Set(held).size;
      });
    }
  });

  it("a site on MQTT alone stays 'seen': its reports are its sign of life", async () => {
    const before = Date.parse((await fleet.site("mq-1")).lastSeenAt!);
    await waitFor("lastSeenAt to move on from MQTT reports alone", async () => Date.parse((await fleet.site("mq-1")).lastSeenAt!) > before, 30_000);
  });

  it("a site cannot read or write another site's topics (mosquitto_sub / mosquitto_pub)", async () => {
    const [a, b] = names as [string, string];
    // The mosquitto clients log in as site a (client id a): with a's own agent connected too, the
    // broker would hand the session back and forth between them and the checks below would race.
    await sims.stop(a);
    onTestFinished(() => sims.start(a));
    const creds = async () => ["-h", host, "-p", String(port), "-i", a, "-u", a, "-P", await siteJwt(sims.stateDir(a), a), "-V", "mqttv311"];
    // Its own bundle topic: the retained bundle is there at once.
    const own = await mosquittoClient("mosquitto_sub", [...(await creds()), "-t", `outpost/v1/sites/${a}/bundle`, "-C", "1", "-W", "5"]);
    expect(own.code).toBe(0);
    expect(own.out.split(".")).toHaveLength(3); // a compact JWS
    // Another site's bundle topic and wildcards: refused, nothing received.
    for (const t of [`outpost/v1/sites/${b}/bundle`, "outpost/v1/sites/+/bundle", "#"]) {
      const other = await mosquittoClient("mosquitto_sub", [...(await creds()), "-t", t, "-C", "1", "-W", "3"]);
      expect(other.out).not.toMatch(/eyJ/);
      expect(other.out).toMatch(/subscription requests were denied/);
    }
    // Publishing as another site is dropped; the same report on its own topic is stored.
    const forged = oneEventReport("pretending to be b");
    await mosquittoClient("mosquitto_pub", [...(await creds()), "-q", "1", "-t", `outpost/v1/sites/${b}/reports`, "-m", forged.body]);
    const honest = oneEventReport("a, honestly");
    expect((await mosquittoClient("mosquitto_pub", [...(await creds()), "-q", "1", "-t", `outpost/v1/sites/${a}/reports`, "-m", honest.body])).code).toBe(0);
    await waitFor("a's own report stored", async () => (await fleet.op.reports({ site: a, kind: "event", limit: 10_000 })).some((r) => r.id === honest.id));
    const all = await fleet.op.reports({ kind: "event", limit: 10_000 });
    expect(all.some((r) => r.id === forged.id)).toBe(false);
    // Logging in with another site's client id (to take over its session), a replayed JWT, or no JWT: refused.
    const jwt = await siteJwt(sims.stateDir(a), a);
    const bad = [
      ["-i", b, "-u", a, "-P", jwt],
      ["-i", a, "-u", b, "-P", jwt],
      ["-i", a, "-u", a, "-P", "not-a-jwt"],
    ];
    for (const c of bad) {
      const r = await mosquittoClient("mosquitto_pub", ["-h", host, "-p", String(port), ...c, "-V", "mqttv311", "-t", `outpost/v1/sites/${a}/reports`, "-m", honest.body]);
      expect(r.code, r.out).not.toBe(0);
    }
    const login = ["-h", host, "-p", String(port), "-i", a, "-u", a, "-P", jwt, "-t", `outpost/v1/sites/${a}/bundle`, "-C", "1", "-W", "3"];
    expect((await mosquittoClient("mosquitto_sub", login)).code).toBe(0);
    expect((await mosquittoClient("mosquitto_sub", login)).code, "a JWT used once must not log in again").not.toBe(0);
  });
});
