import { z } from "zod";
import { ReleaseRef } from "../bundle/payload.ts";
import { LabelKey } from "./labels.ts";

/**
 * Rollouts (DESIGN §5), under /api/v1/rollouts: a release taken to the sites a selector matches,
 * in waves, with a success threshold, a timeout, a disruption budget, maintenance windows, an
 * approval mode and a failure action. Schemas are strict: an unknown field is refused by name.
 */
export const RolloutRoutes = {
  rollouts: "/api/v1/rollouts",
  rollout: (id: string) => `/api/v1/rollouts/${encodeURIComponent(id)}`,
  action: (id: string, action: RolloutAction) => `/api/v1/rollouts/${encodeURIComponent(id)}/${action}`,
  events: (id: string) => `/api/v1/rollouts/${encodeURIComponent(id)}/events`,
  sites: (id: string) => `/api/v1/rollouts/${encodeURIComponent(id)}/sites`,
} as const;

export const ROLLOUT_ACTIONS = ["start", "pause", "resume", "approve", "abort", "rollback"] as const;
export type RolloutAction = (typeof ROLLOUT_ACTIONS)[number];

/** A wave's cumulative target: a number of sites, or a percentage of the rollout's sites ("10%"). */
export const WaveSize = z.union([
  z.number().int().min(1).max(1_000_000),
  z.string().regex(/^([1-9][0-9]?|100)%$/, "a wave is a count of sites (1, 20) or a percentage from 1% to 100% ('10%')"),
]);
export type WaveSize = z.output<typeof WaveSize>;

/** An IANA zone this runtime knows (the hub evaluates windows with the same Intl data). */
export const TimeZone = z.string().min(1).max(64).refine((tz) => {
  try { new Intl.DateTimeFormat("en-US", { timeZone: tz }); return true; } catch { return false; }
}, "must be an IANA time zone such as 'Europe/Lisbon' or 'UTC'");

export const RolloutWindow = z.strictObject({
  /** Five-field cron: when the window opens (minute hour day-of-month month day-of-week). */
  cron: z.string().min(9).max(128),
  durationMinutes: z.number().int().min(1).max(7 * 24 * 60),
  /** Used for sites without a timezone label (and for every site when timezoneLabel is absent). */
  timezone: TimeZone.default("UTC"),
});
export type RolloutWindow = z.output<typeof RolloutWindow>;

export const Strategy = z.strictObject({
  /** Cumulative targets; the first wave is the canary and the last must be "100%". */
  waves: z.array(WaveSize).min(1).max(20)
    .refine((w) => w[w.length - 1] === "100%", "the last wave must be '100%' (every site the selector matched)"),
  /** Percent of a wave's sites that must end applied and healthy for the next wave to begin. */
  successThreshold: z.number().min(1).max(100).default(90),
  /** A started site that has not succeeded or failed this long after its start times out. */
  waveTimeoutSeconds: z.number().int().min(1).max(7 * 86_400).default(1800),
  /** Wait between one wave ending and the next one beginning. */
  pauseSeconds: z.number().int().min(0).max(7 * 86_400).default(0),
  /** Most sites in flight (started, not yet succeeded / failed / timed out) per groupBy value. */
  maxUnavailable: z.number().int().min(1).max(1_000_000).optional(),
  /** Label whose value forms a disruption-budget group (e.g. region, chain); absent = one group. */
  groupBy: LabelKey.optional(),
  /** Sites start only while a window is open in their time zone; none = always open. */
  windows: z.array(RolloutWindow).max(16).default([]),
  /**
   * Label holding a site's IANA time zone. Label values cannot hold '/', so it is written with
   * '.' instead (Europe.Lisbon, America.Argentina.Buenos_Aires); IANA names never contain '.'.
   */
  timezoneLabel: LabelKey.default("timezone"),
  approval: z.enum(["automatic", "manual"]).default("automatic"),
  onFailure: z.enum(["pause", "rollback"]).default("pause"),
}).refine((s) => s.groupBy === undefined || s.maxUnavailable !== undefined, {
  message: "groupBy needs maxUnavailable (the budget per group)", path: ["groupBy"],
});
export type Strategy = z.output<typeof Strategy>;
export type StrategyInput = z.input<typeof Strategy>;

export const CreateRolloutRequest = z.strictObject({
  release: ReleaseRef,
  selector: z.string().max(4096),
  strategy: Strategy,
});
export type CreateRolloutRequest = z.input<typeof CreateRolloutRequest>;

/** Operator actions take no options; `{}` or an empty body. */
export const RolloutActionRequest = z.strictObject({});

export const RolloutStatus = z.enum(["created", "running", "paused", "completed", "aborted", "rolled-back"]);
export type RolloutStatus = z.output<typeof RolloutStatus>;
export const SiteProgressState = z.enum(["pending", "in-progress", "succeeded", "failed", "timed-out"]);
export type SiteProgressState = z.output<typeof SiteProgressState>;
export const WaveState = z.enum(["pending", "in-progress", "succeeded", "failed", "waived"]);

export const WaveView = z.object({
  index: z.number().int(),
  /** The strategy's entry for this wave (count or percent) and the sites it was given. */
  target: WaveSize,
  size: z.number().int(),
  state: WaveState,
  pending: z.number().int(),
  inProgress: z.number().int(),
  succeeded: z.number().int(),
  failed: z.number().int(),
  timedOut: z.number().int(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
});
export type WaveView = z.output<typeof WaveView>;

export const RolloutView = z.object({
  id: z.string(),
  release: ReleaseRef,
  selector: z.string(),
  strategy: Strategy,
  status: RolloutStatus,
  /** Why it is paused: an operator asked, or a wave missed its threshold. */
  pauseReason: z.enum(["operator", "wave-failed"]).nullable(),
  /** Index of the wave in progress (or last finished); -1 before the first. */
  currentWave: z.number().int(),
  waves: z.array(WaveView),
  sites: z.object({ total: z.number().int(), pending: z.number().int(), inProgress: z.number().int(), succeeded: z.number().int(), failed: z.number().int(), timedOut: z.number().int() }),
  /** What the engine waits for right now, in words (approval, a window, the pause between waves...). */
  waitingFor: z.string().nullable(),
  /** Estimated completion, from the pace so far; null until there is a pace to go by. */
  eta: z.string().nullable(),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
});
export type RolloutView = z.output<typeof RolloutView>;

export const RolloutEventView = z.object({
  id: z.number().int(),
  at: z.string(),
  type: z.string(),
  wave: z.number().int().nullable(),
  site: z.string().nullable(),
  group: z.string().nullable(),
  /** Who acted: the hub replica that held the lease (engine), or "operator". */
  actor: z.string(),
  details: z.record(z.string(), z.unknown()),
});
export type RolloutEventView = z.output<typeof RolloutEventView>;

export const RolloutEventsQuery = z.strictObject({
  /** Only events with a larger id (a cursor for `status --watch`). */
  after: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(100_000).default(1000),
});

export const RolloutSiteView = z.object({
  site: z.string(),
  wave: z.number().int(),
  group: z.string(),
  state: SiteProgressState,
  bundleVersion: z.number().int().nullable(),
  rollbackVersion: z.number().int().nullable(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
});
export type RolloutSiteView = z.output<typeof RolloutSiteView>;
export const RolloutSitesQuery = z.strictObject({
  state: SiteProgressState.optional(),
  wave: z.coerce.number().int().min(0).optional(),
});
