import type { BundleNotifier } from "./notifier.ts";

export type WaitOutcome = "notified" | "timeout" | "aborted";

/**
 * A subscription opened *before* the caller reads the database, so a bundle issued between that
 * read and the wait is not missed. `wait` resolves on the first announcement since the last wait,
 * the timeout or an abort; `dispose` must be called in every case (use try/finally).
 */
export class BundleWaiter {
  #pending = false;
  #wake: (() => void) | null = null;
  readonly #unsubscribe: () => void;

  constructor(notifier: BundleNotifier, site: string) {
    this.#unsubscribe = notifier.subscribe(site, () => {
      this.#pending = true;
      this.#wake?.();
    });
  }

  /** Any of `signals` aborting ends the wait (the client went away, or the hub is shutting down). */
  wait(timeoutMs: number, signals: AbortSignal[]): Promise<WaitOutcome> {
    if (signals.some((s) => s.aborted)) return Promise.resolve("aborted");
    if (this.#pending) { this.#pending = false; return Promise.resolve("notified"); }
    return new Promise<WaitOutcome>((resolve) => {
      const finish = (outcome: WaitOutcome) => {
        clearTimeout(timer);
        for (const s of signals) s.removeEventListener("abort", onAbort);
        this.#wake = null;
        if (outcome === "notified") this.#pending = false;
        resolve(outcome);
      };
      const onAbort = () => finish("aborted");
      const timer = setTimeout(() => finish("timeout"), Math.max(0, timeoutMs));
      for (const s of signals) s.addEventListener("abort", onAbort, { once: true });
      this.#wake = () => finish("notified");
    });
  }

  dispose(): void { this.#wake = null; this.#unsubscribe(); }
}
