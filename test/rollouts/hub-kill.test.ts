import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Fleet } from "../lib/fleet.ts";
import { sleep } from "../lib/processes.ts";
import { startsPerSite, waitForRollout } from "../lib/rollouts.ts";
import { storeFleetOn10 } from "../lib/rollouts.ts";
import { SimFleet } from "../lib/sim-fleet.ts";

/**
 * The hub process is SIGKILLed in the middle of a wave (sites in flight, others still pending) and
 * restarted on the same database: the rollout carries on from exactly where it was; no wave begins
 * twice and no site is sent its wave twice.
 */
describe("hub killed mid-wave", () => {
  const hub = new Fleet();
  // Slow applies (as real LXD and Ceph calls are) so the wave is still going when the hub dies.
  const sims = new SimFleet(() => hub.url, { agent: { sim: { stepDelayMs: 150, fail: [] } } });
  const names = Array.from({ length: 16 }, (_, i) => `depot-${String(i + 1).padStart(2, "0")}`);

  beforeAll(async () => {
    await storeFleetOn10(hub, sims, names);
  });
  afterAll(async () => { await sims.close(); await hub.close(); });

  it("resumes where it was after SIGKILL and a restart", async () => {
    const ro = await hub.op.createRollout({
      release: { name: "store", version: "1.1" }, selector: "",
      strategy: { waves: [1, "50%", "100%"], maxUnavailable: 2, waveTimeoutSeconds: 90 },
    });
    await hub.op.rolloutAction(ro.id, "start");
    const mid = await waitForRollout(() => hub.op, ro.id, "wave 2 half done", (v) => v.currentWave === 1 && v.waves[1]!.succeeded >= 2 && v.waves[1]!.pending > 0, 60_000);
    await hub.stopHub("SIGKILL");
    const before = mid.waves[1]!;
    await sleep(1500); // agents keep working and retrying while it is down
    await hub.startHub();

    const done = await waitForRollout(() => hub.op, ro.id, "the rollout to complete", (v) => v.status !== "running", 90_000);
    expect(done.status).toBe("completed");
    expect(done.sites).toMatchObject({ total: 16, succeeded: 16 });
    const events = await hub.op.rolloutEvents(ro.id, { limit: 10_000 });
    // Every site started exactly once; every wave began exactly once, in order.
    const starts = startsPerSite(events);
    expect(Object.keys(starts).sort()).toEqual(names);
    expect(Object.values(starts).every((n) => n === 1)).toBe(true);
    expect(events.filter((e) => e.type === "wave-started").map((e) => e.wave)).toEqual([0, 1, 2]);
    // What wave 2 had done before the kill survived it (an in-flight site is never sent its wave again).
    expect(events.filter((e) => e.type === "site-succeeded" && e.wave === 1).length).toBe(before.size);
    // Each site holds exactly one 1.1 bundle: 1.0 was v1, the rollout's is v2, nothing more.
    for (const s of await hub.op.listSites()) expect([s.name, s.bundleVersion, s.appliedVersion, s.release]).toEqual([s.name, 2, 2, "store@1.1"]);
  });
});
