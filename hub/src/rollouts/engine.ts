import type { RolloutStatus, SiteState, Strategy } from "@outpost/shared";
import { anyWindowOpen, nextOpening } from "./windows.ts";

/**
 * The rollout engine (DESIGN §5) as a pure function: `decide(rollout, sites, now) -> decisions`.
 * No I/O and no clock of its own, so every rule is unit- and property-tested; `store.ts` carries
 * the decisions out in one transaction and the scheduler calls this on every tick.
 *
 * Rules, in the order a tick applies them:
 *  1. Observe: an in-progress site that reports the rollout's bundle version (or later) applied and
 *     in sync has succeeded; reporting it failed or degraded, it has failed; still neither when its
 *     wave timeout has passed since it started, it has timed out. A site of the current wave that
 *     succeeded and then turns failed or degraded before the wave ends has failed after all.
 *  2. While paused nothing else happens (observations still land, so progress stays true).
 *  3. The current wave fails as soon as its threshold can no longer be met (the failure action:
 *     pause, or roll back); it completes once every site in it has succeeded, failed or timed out.
 *  4. Within the wave, pending sites start in plan order, only while a maintenance window is open
 *     in their time zone and only while their group has fewer than `maxUnavailable` sites in
 *     flight (started, not yet succeeded / failed / timed out); the rest start as slots free up.
 *  5. After a wave: the last one finishes the rollout; otherwise the next wave begins once it is
 *     approved (manual mode), the pause between waves is over, and a window is open for at least
 *     one of its sites. A tick chains these steps, so one tick can end a wave and start the next.
 */

export type SiteOutcome = "succeeded" | "failed" | "timed-out";
export type SiteProgress = "pending" | "in-progress" | SiteOutcome;

/** What the engine needs of a rollout row. */
export interface EngineRollout {
  status: RolloutStatus;
  strategy: Pick<Strategy, "successThreshold" | "waveTimeoutSeconds" | "pauseSeconds" | "maxUnavailable" | "windows" | "approval" | "onFailure">;
  /** Sites per wave as planned at start (every wave non-empty). */
  waveSizes: readonly number[];
  /** Wave in progress or last ended; -1 before the first. */
  currentWave: number;
  waveState: "active" | "done";
  /** When currentWave began (active) or ended (done); at -1, when the rollout started. */
  waveChangedAt: Date | null;
  /** Highest wave approved to begin (manual mode). */
  approvedWave: number;
  /** A wave whose threshold an operator waived by resuming after it failed (-1: none). */
  waivedWave: number;
}

/** One site of the rollout: its place in the plan, its progress, and what it last reported. */
export interface EngineSite {
  id: string;
  wave: number;
  /** Disruption-budget group (groupBy label value at start; "" when not grouped). */
  group: string;
  /** IANA zone from its timezone label; null = use each window's own zone; "" = a label that is no zone (never open). */
  timezone: string | null;
  state: SiteProgress;
  /** Version the rollout issued to it (set when it started). */
  bundleVersion: number | null;
  startedAt: Date | null;
  appliedVersion: number | null;
  health: SiteState | null;
}

export type Decision =
  | { type: "mark-sites"; wave: number; outcome: SiteOutcome; sites: string[] }
  | { type: "begin-wave"; wave: number }
  | { type: "start-sites"; wave: number; sites: string[] }
  | { type: "complete-wave"; wave: number; succeeded: number; size: number; waived: boolean }
  | { type: "fail-wave"; wave: number; action: "pause" | "rollback"; succeeded: number; failed: number; timedOut: number; size: number }
  | { type: "finish" };

/** Why nothing (more) happens this tick: for status pages and the CLI, never acted on. */
export type Waiting =
  | { reason: "paused" }
  | { reason: "approval"; wave: number }
  | { reason: "pause-between-waves"; wave: number; until: Date }
  | { reason: "window"; wave: number; until: Date | null }
  | { reason: "sites"; wave: number; inFlight: number; blockedByWindow: number; blockedByBudget: number };

export interface Evaluation { decisions: Decision[]; waiting: Waiting | null }

const TERMINAL = new Set<SiteProgress>(["succeeded", "failed", "timed-out"]);
export const isTerminal = (s: SiteProgress) => TERMINAL.has(s);

export function decide(rollout: EngineRollout, sites: readonly EngineSite[], now: Date): Decision[] {
  return evaluate(rollout, sites, now).decisions;
}

/** Like `decide`, with what the rollout waits for once the decisions are carried out. */
export function evaluate(rollout: EngineRollout, sites: readonly EngineSite[], now: Date): Evaluation {
  if (rollout.status !== "running" && rollout.status !== "paused") return { decisions: [], waiting: null };
  const r: EngineRollout = { ...rollout };
  const ss = sites.map((s) => ({ ...s }));
  const byId = new Map(ss.map((s) => [s.id, s]));
  const decisions: Decision[] = [];
  const emit = (d: Decision) => { decisions.push(d); applyDecision(r, byId, d, now); };

  // 1. Observations, grouped per wave and outcome so each is one decision.
  const marks = new Map<string, { wave: number; outcome: SiteOutcome; sites: string[] }>();
  for (const s of ss) {
    const o = s.state === "in-progress" ? observe(s, r, now)
      : s.state === "succeeded" && r.waveState === "active" && s.wave === r.currentWave && turnedUnhealthy(s) ? "failed" : null;
    if (!o) continue;
    const key = `${s.wave}:${o}`;
    const m = marks.get(key) ?? { wave: s.wave, outcome: o, sites: [] };
    m.sites.push(s.id);
    marks.set(key, m);
  }
  const order: SiteOutcome[] = ["succeeded", "failed", "timed-out"];
  for (const m of [...marks.values()].sort((a, b) => a.wave - b.wave || order.indexOf(a.outcome) - order.indexOf(b.outcome))) {
    emit({ type: "mark-sites", ...m });
  }

  // 2. Paused: observations only.
  if (r.status === "paused") return { decisions, waiting: { reason: "paused" } };

  const windows = r.strategy.windows;
  const openCache = new Map<string | null, boolean>();
  const open = (tz: string | null) => {
    let v = openCache.get(tz);
    if (v === undefined) { v = tz === "" ? false : anyWindowOpen(windows, now, tz); openCache.set(tz, v); }
    return v;
  };

  // 3-5. Wave steps, chained; every pass either stops or moves the wave state forward.
  for (let guard = 0; guard <= 2 * r.waveSizes.length + 2; guard++) {
    if (r.status !== "running") return { decisions, waiting: null };
    const last = r.waveSizes.length - 1;
    if (r.waveState === "active") {
      const w = r.currentWave;
      const inWave = ss.filter((s) => s.wave === w);
      const c = count(inWave);
      const size = r.waveSizes[w] ?? inWave.length;
      const waived = r.waivedWave === w;
      if (!waived && !thresholdReachable(size, c.failed + c.timedOut, r.strategy.successThreshold)) {
        emit({ type: "fail-wave", wave: w, action: r.strategy.onFailure, succeeded: c.succeeded, failed: c.failed, timedOut: c.timedOut, size });
        return { decisions, waiting: r.strategy.onFailure === "pause" ? { reason: "paused" } : null };
      }
      if (c.pending + c.inProgress === 0) {
        emit({ type: "complete-wave", wave: w, succeeded: c.succeeded, size, waived });
        continue;
      }
      const inFlight = inFlightByGroup(ss);
      const max = r.strategy.maxUnavailable;
      const start: string[] = [];
      let blockedByWindow = 0, blockedByBudget = 0;
      for (const s of inWave) {
        if (s.state !== "pending") continue;
        if (!open(s.timezone)) { blockedByWindow++; continue; }
        const n = inFlight.get(s.group) ?? 0;
        if (max !== undefined && n >= max) { blockedByBudget++; continue; }
        inFlight.set(s.group, n + 1);
        start.push(s.id);
      }
      if (start.length) emit({ type: "start-sites", wave: w, sites: start });
      return { decisions, waiting: { reason: "sites", wave: w, inFlight: c.inProgress + start.length, blockedByWindow, blockedByBudget } };
    }
    // waveState "done"
    if (r.currentWave >= last) { emit({ type: "finish" }); return { decisions, waiting: null }; }
    const next = r.currentWave + 1;
    if (r.strategy.approval === "manual" && r.approvedWave < next) return { decisions, waiting: { reason: "approval", wave: next } };
    if (r.currentWave >= 0 && r.strategy.pauseSeconds > 0 && r.waveChangedAt) {
      const until = new Date(r.waveChangedAt.getTime() + r.strategy.pauseSeconds * 1000);
      if (now < until) return { decisions, waiting: { reason: "pause-between-waves", wave: next, until } };
    }
    if (windows.length > 0) {
      const nextSites = ss.filter((s) => s.wave === next);
      if (!nextSites.some((s) => open(s.timezone))) {
        return { decisions, waiting: { reason: "window", wave: next, until: earliestOpening(windows, now, nextSites) } };
      }
    }
    emit({ type: "begin-wave", wave: next });
  }
  return { decisions, waiting: null };
}

/** The outcome an in-progress site has reached by `now`, if any. */
export function observe(s: EngineSite, r: Pick<EngineRollout, "strategy">, now: Date): SiteOutcome | null {
  if (s.bundleVersion !== null && s.appliedVersion !== null && s.appliedVersion >= s.bundleVersion) {
    if (s.health === "in-sync") return "succeeded";
    if (s.health === "failed" || s.health === "degraded") return "failed";
  }
  if (s.startedAt && now.getTime() - s.startedAt.getTime() >= r.strategy.waveTimeoutSeconds * 1000) return "timed-out";
  return null;
}

function turnedUnhealthy(s: EngineSite): boolean {
  return s.bundleVersion !== null && s.appliedVersion !== null && s.appliedVersion >= s.bundleVersion
    && (s.health === "failed" || s.health === "degraded");
}

/** Can `size - bad` successes still reach `threshold` percent? (Integer arithmetic: no rounding surprises.) */
export function thresholdReachable(size: number, bad: number, threshold: number): boolean {
  return (size - bad) * 100 >= threshold * size;
}

export function count(sites: readonly Pick<EngineSite, "state">[]) {
  const c = { pending: 0, inProgress: 0, succeeded: 0, failed: 0, timedOut: 0 };
  for (const s of sites) {
    if (s.state === "pending") c.pending++;
    else if (s.state === "in-progress") c.inProgress++;
    else if (s.state === "succeeded") c.succeeded++;
    else if (s.state === "failed") c.failed++;
    else c.timedOut++;
  }
  return c;
}

export function inFlightByGroup(sites: readonly Pick<EngineSite, "state" | "group">[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const s of sites) if (s.state === "in-progress") m.set(s.group, (m.get(s.group) ?? 0) + 1);
  return m;
}

function earliestOpening(windows: EngineRollout["strategy"]["windows"], now: Date, sites: readonly EngineSite[]): Date | null {
  let best: Date | null = null;
  for (const tz of new Set(sites.map((s) => s.timezone))) {
    if (tz === "") continue;
    const t = nextOpening(windows, now, tz);
    if (t && (!best || t < best)) best = t;
  }
  return best;
}

/**
 * What a decision does to the rollout and its sites (in place). The engine chains with it and the
 * store computes the rollout row it writes with it, so both agree by construction. A started
 * site's bundle version is the store's to set (it is the version it issues).
 */
export function applyDecision(r: EngineRollout, sites: Map<string, EngineSite>, d: Decision, now: Date): void {
  switch (d.type) {
    case "mark-sites":
      for (const id of d.sites) { const s = sites.get(id); if (s) s.state = d.outcome; }
      return;
    case "start-sites":
      for (const id of d.sites) { const s = sites.get(id); if (s) { s.state = "in-progress"; s.startedAt = now; } }
      return;
    case "begin-wave":
      r.currentWave = d.wave; r.waveState = "active"; r.waveChangedAt = now;
      return;
    case "complete-wave":
      r.waveState = "done"; r.waveChangedAt = now;
      return;
    case "fail-wave":
      r.status = d.action === "rollback" ? "rolled-back" : "paused";
      return;
    case "finish":
      r.status = "completed";
      return;
  }
}
