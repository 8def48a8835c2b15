import { backoffDelay, type BackoffPolicy } from "../sync/backoff.ts";

/**
 * Bookkeeping for steps that keep failing. After `maxAttempts` failed attempts in one run a step is
 * quarantined: skipped until `until`, each further quarantine of the same step lasting about twice
 * as long (equal jitter: never close to zero, so a broken step is never hot-looped). Success clears
 * it. Pure: the caller passes the clock and the random source.
 */
export interface QuarantineEntry { quarantines: number; until: number; lastError: string }

export class Quarantine {
  private readonly entries = new Map<string, QuarantineEntry>();
  constructor(private readonly policy: { baseMs: number; capMs: number }, private readonly random: () => number = Math.random) {}

  isHeld(stepId: string, now: number): QuarantineEntry | undefined {
    const e = this.entries.get(stepId);
    return e && e.until > now ? e : undefined;
  }

  /** Puts the step in quarantine (again) and returns the entry with its release time. */
  hold(stepId: string, error: string, now: number): QuarantineEntry {
    const prev = this.entries.get(stepId);
    const quarantines = (prev?.quarantines ?? 0) + 1;
    const p: BackoffPolicy = { ...this.policy, jitter: "equal" };
    const e = { quarantines, until: now + backoffDelay(quarantines - 1, p, this.random), lastError: error };
    this.entries.set(stepId, e);
    return e;
  }

  release(stepId: string): void { this.entries.delete(stepId); }

  /** Forget steps that are no longer in any plan (the spec moved on, or someone fixed it by hand). */
  retain(stepIds: Set<string>): void {
    for (const id of this.entries.keys()) if (!stepIds.has(id)) this.entries.delete(id);
  }

  /** Earliest release time among held steps (to wake the reconciler then), or null. */
  nextRelease(now: number): number | null {
    let next: number | null = null;
    for (const e of this.entries.values()) if (e.until > now && (next === null || e.until < next)) next = e.until;
    return next;
  }

  get size(): number { return this.entries.size; }
}
