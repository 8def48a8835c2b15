import type { WaveView } from "@outpost/shared";
import { count, thresholdReachable, type EngineRollout, type SiteProgress, type Waiting } from "./engine.ts";

/**
 * Progress per wave, the remaining-time estimate and the "waiting for" sentence (pure): what the
 * status API, the CLI's progress bar and the dashboard show.
 */
export interface ProgressSite { wave: number; state: SiteProgress; startedAt: Date | null; finishedAt: Date | null }

export function waveViews(r: Pick<EngineRollout, "status" | "currentWave" | "waveState" | "waivedWave" | "waveSizes" | "strategy"> & { targets: readonly (number | string)[] },
  sites: readonly ProgressSite[]): WaveView[] {
  const per = r.waveSizes.map(() => [] as ProgressSite[]);
  for (const s of sites) per[s.wave]?.push(s);
  return per.map((list, i) => {
    const c = count(list);
    const started = list.map((s) => s.startedAt?.getTime()).filter((t): t is number => t !== undefined);
    const done = c.pending + c.inProgress === 0 && list.length > 0;
    const finished = done ? Math.max(...list.map((s) => s.finishedAt?.getTime() ?? 0)) : null;
    const ended = i < r.currentWave || (i === r.currentWave && r.waveState === "done");
    let state: WaveView["state"];
    if (ended) state = r.waivedWave === i ? "waived" : "succeeded";
    else if (i === r.currentWave && r.waveState === "active") {
      const missed = r.waivedWave !== i && !thresholdReachable(list.length, c.failed + c.timedOut, r.strategy.successThreshold);
      state = missed ? "failed" : "in-progress";
    }
    else state = "pending";
    return {
      index: i, target: r.targets[i] ?? "?", size: list.length, state,
      pending: c.pending, inProgress: c.inProgress, succeeded: c.succeeded, failed: c.failed, timedOut: c.timedOut,
      startedAt: started.length ? new Date(Math.min(...started)).toISOString() : null,
      finishedAt: finished ? new Date(finished).toISOString() : null,
    };
  });
}

/**
 * Completion estimate from the pace so far: sites finished per second since the start, applied to
 * the sites left, plus the pauses between the waves left. Null before any site finished (no pace
 * yet) and once the rollout is not running. Approvals and closed windows are not foreseen.
 */
export function estimateEta(r: Pick<EngineRollout, "status" | "currentWave" | "waveSizes" | "strategy">, startedAt: Date | null,
  sites: readonly ProgressSite[], now: Date): Date | null {
  if (r.status !== "running" || !startedAt) return null;
  const c = count(sites);
  const finished = c.succeeded + c.failed + c.timedOut;
  const left = sites.length - finished;
  const elapsed = now.getTime() - startedAt.getTime();
  if (finished === 0 || elapsed <= 0) return null;
  const perMs = finished / elapsed;
  const pausesLeft = Math.max(0, r.waveSizes.length - 1 - Math.max(0, r.currentWave)) * r.strategy.pauseSeconds * 1000;
  return new Date(now.getTime() + left / perMs + pausesLeft);
}

export function describeWaiting(w: Waiting | null): string | null {
  if (!w) return null;
  switch (w.reason) {
    case "paused": return "paused: resume, roll back or abort";
    case "approval": return `approval of wave ${w.wave + 1} (outpost rollout approve)`;
    case "pause-between-waves": return `the pause before wave ${w.wave + 1}, until ${w.until.toISOString()}`;
    case "window": return `a maintenance window for wave ${w.wave + 1}${w.until ? `, next opening ${w.until.toISOString()}` : " (none will open)"}`;
    case "sites": {
      const parts = [`${w.inFlight} site(s) of wave ${w.wave + 1} in flight`];
      if (w.blockedByBudget) parts.push(`${w.blockedByBudget} held by the disruption budget`);
      if (w.blockedByWindow) parts.push(`${w.blockedByWindow} outside a maintenance window`);
      return parts.join("; ");
    }
  }
}
