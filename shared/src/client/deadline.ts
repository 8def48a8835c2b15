/**
 * A signal that aborts when `outer` does, or after `ms` with a TimeoutError (as AbortSignal.timeout).
 * Not AbortSignal.any([outer, AbortSignal.timeout(ms)]): on Node 20 the timeout signal inside any()
 * is held only weakly, a GC collects it, and the deadline never fires (a long-poll then waited for
 * the socket's 300 s idle timeout on a fleet simulator under memory pressure). Here the timer holds
 * the controller. `clear()` once the call, body included, is over.
 */
export interface Deadline {
  readonly signal: AbortSignal;
  /** Whether it was our own deadline (not `outer`) that aborted. */
  readonly timedOut: boolean;
  clear(): void;
}

export function deadline(ms: number, outer?: AbortSignal): Deadline {
  const ac = new AbortController();
  let timedOut = false;
  const onOuter = () => ac.abort(outer!.reason);
  const timer = setTimeout(() => {
    timedOut = true;
    ac.abort(new DOMException(`the operation timed out after ${ms} ms`, "TimeoutError"));
  }, ms);
  if (outer?.aborted) onOuter();
  else outer?.addEventListener("abort", onOuter, { once: true });
  return {
    signal: ac.signal,
    get timedOut() { return timedOut; },
    clear: () => { clearTimeout(timer); outer?.removeEventListener("abort", onOuter); },
  };
}
