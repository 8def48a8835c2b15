import type { Logger } from "pino";
import { Wakeup } from "../lib/wakeup.ts";
import type { Store } from "../store/db.ts";
import { outboxCount } from "../store/outbox.ts";
import { enqueue, makeReport } from "./outbox.ts";
import type { ReportItem } from "@outpost/shared";
import { buildStatusBody } from "./status-body.ts";
import { storageFullMessage } from "./storage.ts";
import { capMetrics, processMetrics } from "./telemetry.ts";

/**
 * Periodic status + telemetry (every reportIntervalSeconds) and one right after each apply. Both go
 * through the outbox like everything else; when it is full they are the first to be dropped.
 */
export class Reporter {
  private readonly wake = new Wakeup();
  private running: Promise<void> | null = null;

  constructor(private readonly o: {
    store: Store; stateDir: string; log: Logger; intervalMs: number; outboxMax: number; signal: AbortSignal;
    driverMetrics: () => Promise<Record<string, number>>;
    /** Called after reports were queued (nudges the flusher). */
    onQueued: () => void;
    /** Sends reports past the outbox, best effort: the status while the state file cannot take it. */
    sendDirect: (items: ReportItem[]) => Promise<unknown>;
  }) {}
  private lastError = "";

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
        this.lastError = "";
      } catch (e) {
        if (this.o.signal.aborted) return;
        const err = (e as Error).message;
        // Once per kind of failure, not once per interval for as long as it lasts.
        if (err !== this.lastError) this.o.log.warn({ err }, "could not queue status/telemetry report");
        this.lastError = err;
        await this.tellHubDirectly();
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

  /** With the state directory full, the hub would hear nothing: send it a degraded status that says why. */
  private async tellHubDirectly(): Promise<void> {
    const full = this.o.store.health.full;
    if (!full) return;
    try {
      const status = await buildStatusBody(this.o.store.db, new Date());
      const body = { ...status, state: "degraded" as const, message: storageFullMessage(this.o.stateDir, full.since, full.failedWrites) };
      await this.o.sendDirect([makeReport({ kind: "status", body })]);
    } catch (e) {
      this.o.log.debug({ err: (e as Error).message }, "could not send the storage status to the hub");
    }
  }

  async stopped(): Promise<void> { await this.running; }
}
