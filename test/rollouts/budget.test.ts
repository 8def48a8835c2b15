import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Fleet } from "../lib/fleet.ts";
import { waitFor } from "../lib/processes.ts";
import { peakInFlight, startsPerSite, waitForRollout, storeFleetOn10 } from "../lib/rollouts.ts";
import { SimFleet } from "../lib/sim-fleet.ts";

/**
 * 50 sim sites in 3 regions (real agents, one process), a real hub process on a real libSQL file:
 * waves [1, 10%, 50%, 100%] with at most 2 sites per region in flight. The rollout completes and
 * the event history shows the budget was never exceeded, at any moment.
 */
describe("a rollout of 50 sites in 3 regions under a disruption budget", () => {
  const hub = new Fleet();
  const sims = new SimFleet(() => hub.url);
  const regions = ["eu", "us", "ap"];
  const names = Array.from({ length: 50 }, (_, i) => `store-${String(i + 1).padStart(2, "0")}`);
  const region = (n: string) => regions[names.indexOf(n) % 3]!;

  beforeAll(async () => {
    await storeFleetOn10(hub, sims, names, (name) => ({ name, labels: { region: region(name) } }));
  });
  afterAll(async () => { await sims.close(); await hub.close(); });

  it("completes, never has more than 2 sites of a region between started and applied, and gives each site its wave once", async () => {
    const ro = await hub.op.createRollout({
      release: { name: "store", version: "1.1" }, selector: "",
      strategy: { waves: [1, "10%", "50%", "100%"], maxUnavailable: 2, groupBy: "region", waveTimeoutSeconds: 60 },
    });
    const started = await hub.op.rolloutAction(ro.id, "start");
    expect(started.waves.map((w) => [w.target, w.size])).toEqual([[1, 1], ["10%", 4], ["50%", 20], ["100%", 25]]);

    const done = await waitForRollout(() => hub.op, ro.id, "the rollout to complete", (v) => v.status === "completed" || v.status === "paused", 120_000);
    expect(done.status).toBe("completed");
    expect(done.sites).toMatchObject({ total: 50, succeeded: 50, failed: 0, timedOut: 0 });
    expect(done.waves.map((w) => w.state)).toEqual(["succeeded", "succeeded", "succeeded", "succeeded"]);

    const events = await hub.op.rolloutEvents(ro.id, { limit: 10_000 });
    const peak = peakInFlight(events);
    expect(Object.keys(peak).sort()).toEqual(["ap", "eu", "us"]);
    for (const r of regions) expect(peak[r]).toBeLessThanOrEqual(2);
    expect(Math.max(...Object.values(peak))).toBe(2); // the budget was used, not just respected
    expect(Object.values(startsPerSite(events)).every((n) => n === 1)).toBe(true);
    expect(Object.keys(startsPerSite(events)).sort()).toEqual([...names].sort());
    // Waves began in order, each once.
    expect(events.filter((e) => e.type === "wave-started").map((e) => e.wave)).toEqual([0, 1, 2, 3]);

    // And the sites really run 1.1: each reports the version the rollout issued it, in sync.
    await waitFor("every site to report store@1.1", async () => (await hub.op.listSites()).every((s) => s.release === "store@1.1" && s.state === "in-sync"));
  });
});
