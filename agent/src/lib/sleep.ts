import { setTimeout as delay } from "node:timers/promises";

/**
 * Waits `ms`, or less if `signal` aborts. Resolves false when aborted instead of throwing, so the
 * loops that sleep between retries can simply check the result and wind down.
 */
export async function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return false;
  try {
    await delay(Math.max(0, ms), undefined, { signal });
    return true;
  } catch (e) {
    if ((e as Error).name === "AbortError") return false;
    throw e;
  }
}

export function isAbortError(e: unknown): boolean {
  const name = (e as Error | undefined)?.name;
  return name === "AbortError";
}
