import type { Logger } from "pino";
import { Wakeup } from "../lib/wakeup.ts";
import type { Store } from "../store/db.ts";
import { outboxCount } from "../store/outbox.ts";
import { enqueue, makeReport } from "./outbox.ts";
import { buildStatusBody } from "./status-body.ts";
import { capMetrics, processMetrics } from "./telemetry.ts";

/**
 * Periodic status + telemetry (every reportIntervalSeconds) and one right after each apply. Both go
 * through the outbox like everything else; when it is full they are the first to be dropped.
 */
export class Reporter {
  private readonly wake = new Wakeup();
  private running: Promise<void> | null = null;

  constructor(private readonly o: {
    store: Store; log: Logger; intervalMs: number; outboxMax: number; signal: AbortSignal;
    driverMetrics: () => Promise<Record<string, number>>;
    /** Called after reports were queued (nudges the flusher). */
    onQueued: () => void;
  }) {}

  /** Report now (after an apply), without waiting for the interval. */
  reportSoon(): void { this.wake.kick(); }

  start(): Promise<void> {
    this.running ??= this.loop();
    return this.running;
  }

  private async loop(): Promise<void> {
    while (!this.o.signal.aborted) {
      try {
        await this.reportOnce();
      } catch (e) {
        if (this.o.signal.aborted) return;
        this.o.log.warn({ err: (e as Error).message }, "could not queue status/telemetry report");
      }
      if ((await this.wake.wait(this.o.intervalMs, this.o.signal)) === "abort") return;
    }
  }

  async reportOnce(): Promise<void> {
    const now = new Date();
    const status = await buildStatusBody(this.o.store.db, now);
    let driver: Record<string, number> = {};
    try { driver = await this.o.driverMetrics(); } catch (e) { this.o.log.debug({ err: (e as Error).message }, "driver metrics unavailable"); }
    const metrics = capMetrics({ ...driver, ...processMetrics(), "outbox.pending": await outboxCount(this.o.store.db) });
    await enqueue(this.o.store, [makeReport({ kind: "status", body: status }, now), makeReport({ kind: "telemetry", body: { metrics } }, now)], this.o.outboxMax);
    this.o.onQueued();
  }

  async stopped(): Promise<void> { await this.running; }
}
