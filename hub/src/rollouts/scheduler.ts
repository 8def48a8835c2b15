import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import cron, { type ScheduledTask } from "node-cron";
import type { Logger } from "pino";
import { evaluate } from "./engine.ts";
import { acquireLease, holdsLease, releaseLease } from "./lease.ts";
import { activeRolloutIds, applyDecisions, loadRollout, type RolloutDeps } from "./store.ts";

export const ROLLOUT_LEASE = "rollouts";

export interface TickStats {
  /** False when another replica holds the lease: this one did nothing. */
  leader: boolean;
  rollouts: number;
  sites: number;
  decisions: number;
  started: number;
  /** Milliseconds spent reading rows, in the pure engine, and writing decisions. */
  loadMs: number;
  decideMs: number;
  applyMs: number;
}

export interface SchedulerOptions {
  /** Seconds between ticks; 0 = no timer (a test drives `tick(now)` with its own clock). */
  tickSeconds: number;
  /** This replica's name in the lease and in every event it writes. */
  holder?: string;
  logger: Logger;
}

/**
 * Drives the engine: a node-cron task ticks every `tickSeconds`; each tick first takes or renews the
 * DB lease (TTL = 3 ticks) and does nothing more unless it holds it, so with several hub replicas
 * exactly one acts and another takes over within a TTL of the holder dying. Each rollout's
 * decisions are written in one transaction that re-checks the lease (fencing) and the rollout's
 * rev; ticks never overlap within a process.
 */
export class RolloutScheduler {
  readonly holder: string;
  readonly ttlMs: number;
  #task: ScheduledTask | null = null;
  #running: Promise<TickStats> | null = null;
  lastTick: TickStats | null = null;

  constructor(private readonly deps: RolloutDeps, private readonly opts: SchedulerOptions) {
    this.holder = opts.holder ?? `${hostname()}:${process.pid}:${randomBytes(3).toString("hex")}`;
    this.ttlMs = Math.max(1, opts.tickSeconds || 2) * 3000;
  }

  start(): void {
    if (this.opts.tickSeconds <= 0 || this.#task) return;
    const every = Math.round(this.opts.tickSeconds);
    // Six fields: node-cron's seconds field gives ticks shorter than a minute.
    const expr = every < 60 ? `*/${every} * * * * *` : `0 */${Math.max(1, Math.round(every / 60))} * * * *`;
    this.#task = cron.schedule(expr, () => this.tick().then(() => undefined, (err: unknown) => {
      this.opts.logger.error({ err: (err as Error).message }, "rollout tick failed");
    }), {
      name: `outpost-rollouts-${this.holder}`, noOverlap: true,
      // A tick that outlasts its interval (a wave of thousands of bundles to sign) is expected: the
      // next one is skipped, which node-cron would otherwise print to the console as a warning.
      logger: {
        info: (m) => this.opts.logger.debug(m), debug: (m) => this.opts.logger.debug(String(m)),
        warn: (m) => this.opts.logger.debug(m), error: (m) => this.opts.logger.warn(String(m)),
      },
    });
  }

  /** One tick at `now` (default the hub's clock). Concurrent calls share the tick in progress. */
  tick(now: Date = this.deps.now()): Promise<TickStats> {
    this.#running ??= this.#tick(now).finally(() => { this.#running = null; });
    return this.#running;
  }

  async #tick(now: Date): Promise<TickStats> {
    const stats: TickStats = { leader: false, rollouts: 0, sites: 0, decisions: 0, started: 0, loadMs: 0, decideMs: 0, applyMs: 0 };
    stats.leader = await acquireLease(this.deps.hub, ROLLOUT_LEASE, this.holder, this.ttlMs, now);
    if (!stats.leader) return (this.lastTick = stats);
    const fence = (tx: Parameters<typeof holdsLease>[0]) => holdsLease(tx, ROLLOUT_LEASE, this.holder, now);
    for (const id of await activeRolloutIds(this.deps.hub.db)) {
      let t = performance.now();
      const loaded = await loadRollout(this.deps.hub.db, id);
      stats.loadMs += performance.now() - t;
      if (!loaded) continue;
      stats.rollouts++;
      stats.sites += loaded.sites.length;
      t = performance.now();
      const { decisions } = evaluate(loaded.engine, loaded.sites, now);
      stats.decideMs += performance.now() - t;
      if (decisions.length === 0) continue;
      t = performance.now();
      const res = await applyDecisions(this.deps, loaded, decisions, this.holder, now, fence);
      stats.applyMs += performance.now() - t;
      if (!res.applied) { this.opts.logger.info({ rollout: id, reason: res.reason }, "rollout decisions dropped; deciding again next tick"); continue; }
      stats.decisions += decisions.length;
      stats.started += res.started;
      for (const d of decisions) if (d.type !== "mark-sites" && d.type !== "start-sites") this.opts.logger.info({ rollout: id, ...d }, `rollout ${d.type}`);
    }
    return (this.lastTick = stats);
  }

  /** Stops ticking, waits for a tick in progress, and hands the lease back. */
  async stop(): Promise<void> {
    await this.#task?.destroy();
    this.#task = null;
    await this.#running?.catch(() => undefined);
    await releaseLease(this.deps.hub, ROLLOUT_LEASE, this.holder).catch(() => undefined);
  }
}
