import type { OperatorClient, RolloutEventView, RolloutView } from "@outpost/shared";
import type { Fleet } from "./fleet.ts";
import { waitFor } from "./processes.ts";
import { storeRelease } from "./releases.ts";
import type { SimFleet } from "./sim-fleet.ts";

/** Polls a rollout until `done(view)`; the failure message shows where it stood. */
export async function waitForRollout(op: () => OperatorClient, id: string, what: string, done: (v: RolloutView) => boolean, timeoutMs = 60_000): Promise<RolloutView> {
  let last: RolloutView | null = null;
  try {
    return await waitFor(what, async () => {
      last = await op().getRollout(id);
      return done(last) ? last : null;
    }, timeoutMs, 250);
  } catch (e) {
    throw new Error(`${(e as Error).message}\nrollout: ${JSON.stringify(last && { status: (last as RolloutView).status, currentWave: (last as RolloutView).currentWave, sites: (last as RolloutView).sites, waitingFor: (last as RolloutView).waitingFor })}`);
  }
}

const FINISHED = new Set(["site-succeeded", "site-failed", "site-timed-out"]);

/**
 * Replays the event history in order and returns, per group, the most sites that were ever
 * between "started" and a result at the same moment: the disruption budget, as it really went.
 */
export function peakInFlight(events: readonly RolloutEventView[]): Record<string, number> {
  const now = new Map<string, number>(), peak: Record<string, number> = {};
  for (const e of [...events].sort((a, b) => a.id - b.id)) {
    const g = e.group ?? "";
    if (e.type === "site-started") {
      now.set(g, (now.get(g) ?? 0) + 1);
      peak[g] = Math.max(peak[g] ?? 0, now.get(g)!);
    } else if (FINISHED.has(e.type)) now.set(g, (now.get(g) ?? 0) - 1);
  }
  return peak;
}

/** How many times each site was started (a site must get its wave exactly once). */
export function startsPerSite(events: readonly RolloutEventView[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const e of events) if (e.type === "site-started" && e.site) out[e.site] = (out[e.site] ?? 0) + 1;
  return out;
}

/**
 * The starting point of most rollout tests: a hub whose rollout scheduler ticks every second, the
 * named sim sites enrolled and all on store@1.0, and store@1.1 created, ready to roll out.
 */
export async function storeFleetOn10(hub: Fleet, sims: SimFleet, names: string[], sites: (name: string) => { name: string; labels?: Record<string, string> } = (name) => ({ name })): Promise<void> {
  await hub.startHub({ OUTPOST_ROLLOUT_TICK_SECONDS: "1" });
  const { token } = await hub.op.createToken({ autoApprove: true, uses: names.length });
  await sims.add(names.map(sites), token);
  await hub.op.createRelease(storeRelease("1.0"));
  await hub.op.createRelease(storeRelease("1.1", { instances: 3 }));
  await hub.op.assign({ name: "store", version: "1.0" }, "");
  await hub.waitApplied(names, () => 1, 60_000);
}
