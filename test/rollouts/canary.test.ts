import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listSimObjects } from "@outpost/agent";
import { Fleet } from "../lib/fleet.ts";
import { waitFor } from "../lib/processes.ts";
import { waitForRollout, storeFleetOn10 } from "../lib/rollouts.ts";
import { SimFleet } from "../lib/sim-fleet.ts";

/**
 * A release that fails on the canary: the canary's sim driver is told to fail the new instance.
 * The rollout pauses at wave 1 and no other site gets the release; rollback then gives the canary
 * a new, higher bundle version carrying the old release, which it applies.
 */
describe("a release that fails on the canary", () => {
  const hub = new Fleet();
  const sims = new SimFleet(() => hub.url);
  const names = ["kiosk-a", "kiosk-b", "kiosk-c", "kiosk-d", "kiosk-e", "kiosk-f"];
  const canary = "kiosk-a"; // one group, sites by name: the first is the canary

  beforeAll(async () => {
    await storeFleetOn10(hub, sims, names);
    await sims.setFaults(canary, ["pos-3"]); // the instance 1.1 adds cannot be created there
  });
  afterAll(async () => { await sims.close(); await hub.close(); });

  it("pauses at the canary wave; the other sites never get the release", async () => {
    const ro = await hub.op.createRollout({ release: { name: "store", version: "1.1" }, selector: "", strategy: { waves: [1, "50%", "100%"], waveTimeoutSeconds: 60 } });
    await hub.op.rolloutAction(ro.id, "start");
    const paused = await waitForRollout(() => hub.op, ro.id, "the rollout to stop", (v) => v.status !== "running", 60_000);
    expect(paused).toMatchObject({ status: "paused", pauseReason: "wave-failed", currentWave: 0 });
    expect(paused.waves.map((w) => w.state)).toEqual(["failed", "pending", "pending"]);
    expect(paused.waitingFor).toMatch(/paused/);
    const events = await hub.op.rolloutEvents(ro.id);
    expect(events.filter((e) => e.type === "site-failed").map((e) => e.site)).toEqual([canary]);
    expect(events.find((e) => e.type === "wave-failed")).toMatchObject({ wave: 0, details: { action: "pause", failed: 1, size: 1 } });
    for (const s of await hub.op.listSites()) {
      if (s.name === canary) continue;
      expect([s.name, s.bundleVersion, s.release]).toEqual([s.name, 1, "store@1.0"]);
    }

    // Roll back: the canary gets a NEW, higher version carrying 1.0's spec, and applies it.
    await sims.setFaults(canary, []);
    const rolled = await hub.op.rolloutAction(ro.id, "rollback");
    expect(rolled.status).toBe("rolled-back");
    const [site] = await hub.op.rolloutSites(ro.id, { state: "failed" });
    expect(site).toMatchObject({ site: canary, bundleVersion: 2, rollbackVersion: 3 });
    await hub.waitApplied([canary], () => 3, 30_000);
    expect((await hub.site(canary)).release).toBe("store@1.0");
    const instances = await listSimObjects(sims.stateDir(canary), "lxd.instance");
    expect(instances.map((i) => [i.name, i.fields.config])).toEqual([
      ["pos-1", { "user.release": "1.0" }], ["pos-2", { "user.release": "1.0" }],
    ]);
    const history = (await hub.op.rolloutEvents(ro.id)).map((e) => e.type);
    expect(history.slice(-3)).toEqual(["rollback-requested", "site-rolled-back", "rolled-back"]);
    await expect(hub.op.rolloutAction(ro.id, "resume")).rejects.toMatchObject({ status: 409, code: "ROLLOUT_NOT_PAUSED" });
    // The others stayed on 1.0 throughout.
    await waitFor("the rest still on 1.0", async () => (await hub.op.listSites()).every((s) => s.release === "store@1.0"));
  });
});
