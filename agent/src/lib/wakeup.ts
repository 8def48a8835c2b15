import { sleep } from "./sleep.ts";

/**
 * A loop's alarm clock: `wait(ms)` returns after `ms`, on `kick()`, or on abort, whichever is first.
 * Kicks that land while nobody waits are remembered (once), so a wake-up is never lost between checks.
 */
export class Wakeup {
  private pending = false;
  private waiter: AbortController | null = null;

  kick(): void {
    if (this.waiter) this.waiter.abort();
    else this.pending = true;
  }

  /** Resolves "kick", "timeout" or "abort". */
  async wait(ms: number, signal: AbortSignal): Promise<"kick" | "timeout" | "abort"> {
    if (signal.aborted) return "abort";
    if (this.pending) { this.pending = false; return "kick"; }
    const ac = new AbortController();
    this.waiter = ac;
    try {
      const done = await sleep(ms, AbortSignal.any([signal, ac.signal]));
      if (done) return "timeout";
      return signal.aborted ? "abort" : "kick";
    } finally { this.waiter = null; }
  }
}
