import type { Logger } from "pino";
import { HubError, MAX_REPORTS_PER_POST, type ReportItem, type ReportsResponse } from "@outpost/shared";
import { isAbortError } from "../lib/sleep.ts";
import { Wakeup } from "../lib/wakeup.ts";
import type { Store } from "../store/db.ts";
import { journalAppend, journalPrune } from "../store/journal.ts";
import { outboxDelete, outboxOldest } from "../store/outbox.ts";
import { backoffDelay, type BackoffPolicy } from "../sync/backoff.ts";

export interface ReportSender { reports(items: ReportItem[]): Promise<ReportsResponse> }

/**
 * Sends the outbox to the hub, oldest first, in batches of at most 500, and deletes exactly the ids
 * the hub acked (the hub de-duplicates by id, so a resend after a lost ack is harmless: at-least-once
 * sending, exactly-once storage). Runs when nudged (a new event) and on an interval; on failure the
 * reports stay queued and the next try waits with backoff.
 */
export class Flusher {
  private readonly wake = new Wakeup();
  private failures = 0;
  private flushes = 0;
  private running: Promise<void> | null = null;
  private unreachableLogged = false;
  private lastError = "";

  constructor(private readonly o: {
    store: Store; sender: ReportSender; log: Logger; intervalMs: number; backoff: BackoffPolicy; signal: AbortSignal;
  }) {}

  kick(): void { this.wake.kick(); }

  start(): Promise<void> {
    this.running ??= this.loop();
    return this.running;
  }

  private async loop(): Promise<void> {
    while (!this.o.signal.aborted) {
      const delay = this.failures > 0 ? backoffDelay(this.failures - 1, this.o.backoff) : this.o.intervalMs;
      // While backing off, a nudge must not cut the wait short (that would hammer a hub that is down).
      const r = await (this.failures > 0 ? this.sleepIgnoringKicks(delay) : this.wake.wait(delay, this.o.signal));
      if (r === "abort") return;
      try {
        await this.flushAll();
        this.lastError = "";
      } catch (e) {
        // A state-file error (disk full, locked too long): keep the loop alive and try again later.
        if (this.o.signal.aborted) return;
        this.failures++;
        const err = (e as Error).message;
        if (err !== this.lastError) this.o.log.error({ err }, "outbox flush failed");
        this.lastError = err;
      }
    }
  }

  private async sleepIgnoringKicks(ms: number): Promise<"timeout" | "abort"> {
    const until = Date.now() + ms;
    while (Date.now() < until) {
      if ((await this.wake.wait(until - Date.now(), this.o.signal)) === "abort") return "abort";
    }
    return "timeout";
  }

  /** Sends until the outbox is empty or a send fails. Returns true when everything queued was acked. */
  async flushAll(): Promise<boolean> {
    for (;;) {
      if (this.o.signal.aborted) return false;
      const batch = await outboxOldest(this.o.store.db, MAX_REPORTS_PER_POST);
      if (batch.length === 0) { this.failures = 0; return true; }
      let res: ReportsResponse;
      try {
        res = await this.o.sender.reports(batch);
      } catch (e) {
        if (isAbortError(e) || this.o.signal.aborted) return false;
        this.failures++;
        const code = e instanceof HubError ? e.code : (e as Error).name;
        if (!this.unreachableLogged) {
          this.o.log.warn({ code, queued: batch.length }, `reports not delivered, keeping them queued: ${(e as Error).message}`);
          this.unreachableLogged = true;
        } else this.o.log.debug({ code }, "reports still not delivered");
        return false;
      }
      const sent = new Set(batch.map((b) => b.id));
      const acked = res.acked.filter((id) => sent.has(id));
      this.flushes++;
      await this.o.store.write([
        ...outboxDelete(acked),
        journalAppend("report-flushed", { sent: batch.length, acked: acked.length, stored: res.stored, duplicates: res.duplicates }),
        // Housekeeping rides along now and then, so the journal stays bounded without a timer of its own.
        ...(this.flushes % 100 === 1 ? [journalPrune()] : []),
      ]);
      if (this.unreachableLogged) { this.o.log.info("reports delivered again"); this.unreachableLogged = false; }
      if (acked.length < batch.length) {
        // The hub kept some back: retry those later rather than spin on them now.
        this.failures++;
        this.o.log.warn({ sent: batch.length, acked: acked.length }, "hub acked only part of a report batch; retrying the rest later");
        return false;
      }
      this.failures = 0;
    }
  }

  /** For shutdown: wait for the loop to notice the abort. */
  async stopped(): Promise<void> { await this.running; }
}
