import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Fleet } from "../lib/fleet.ts";
import { startsPerSite, waitForRollout } from "../lib/rollouts.ts";
import { storeFleetOn10 } from "../lib/rollouts.ts";
import { SimFleet } from "../lib/sim-fleet.ts";

/**
 * 10% of the sites are offline (their agents stopped) when the rollout runs: they time out and
 * the rollout completes without them, as the threshold allows. When they come back they fetch the
 * bundle the rollout issued them and converge.
 */
describe("a rollout with 10% of the sites offline", () => {
  const hub = new Fleet();
  const sims = new SimFleet(() => hub.url);
  const names = Array.from({ length: 20 }, (_, i) => `shop-${String(i + 1).padStart(2, "0")}`);
  const offline = ["shop-07", "shop-16"]; // not the canary (shop-01)

  beforeAll(async () => {
    await storeFleetOn10(hub, sims, names);
    for (const s of offline) await sims.stop(s);
  });
  afterAll(async () => { await sims.close(); await hub.close(); });

  it("completes with the offline sites timed out, and they converge once back", async () => {
    const ro = await hub.op.createRollout({
      release: { name: "store", version: "1.1" }, selector: "",
      strategy: { waves: [1, "50%", "100%"], successThreshold: 80, waveTimeoutSeconds: 6 },
    });
    await hub.op.rolloutAction(ro.id, "start");
    const done = await waitForRollout(() => hub.op, ro.id, "the rollout to end", (v) => v.status !== "running", 90_000);
    expect(done.status).toBe("completed");
    expect(done.sites).toMatchObject({ total: 20, succeeded: 18, timedOut: 2, failed: 0 });
    const timedOut = await hub.op.rolloutSites(ro.id, { state: "timed-out" });
    expect(timedOut.map((s) => s.site).sort()).toEqual(offline);
    expect(Object.values(startsPerSite(await hub.op.rolloutEvents(ro.id))).every((n) => n === 1)).toBe(true);

    for (const s of offline) await sims.start(s);
    // Each offline site was issued v2 (1.1) while away; back online it fetches and applies it.
    await hub.waitApplied(offline, () => 2, 30_000);
    for (const s of offline) expect((await hub.site(s)).release).toBe("store@1.1");
  });
});
