/**
 * Exponential backoff with jitter, as a pure function of the attempt number (0 = first retry) and a
 * random source, so it can be property-tested and every loop (long-poll, reports, step retries,
 * quarantine) shares one definition.
 *
 * - "full" jitter (the default, AWS's "full jitter"): uniform in [0, min(cap, base * 2^attempt)].
 *   Spreads a fleet's reconnects after a hub outage instead of having them arrive in lockstep.
 * - "equal" jitter: uniform in [ceiling/2, ceiling]. For quarantine, where a delay close to zero
 *   would amount to hot-looping a failing step.
 */
export interface BackoffPolicy { baseMs: number; capMs: number; jitter?: "full" | "equal" }

export const HUB_BACKOFF: BackoffPolicy = { baseMs: 1000, capMs: 60_000, jitter: "full" };

export function backoffCeiling(attempt: number, p: BackoffPolicy): number {
  const n = Number.isFinite(attempt) && attempt > 0 ? Math.floor(attempt) : 0;
  // 2^n overflows to Infinity past ~1023; clamp the exponent first so the product stays finite.
  const exp = p.baseMs * 2 ** Math.min(n, 52);
  return Math.max(0, Math.min(p.capMs, exp));
}

export function backoffDelay(attempt: number, p: BackoffPolicy, random: () => number = Math.random): number {
  const ceiling = backoffCeiling(attempt, p);
  const r = Math.min(Math.max(random(), 0), 1);
  if (p.jitter === "equal") return Math.floor(ceiling / 2 + r * (ceiling / 2));
  return Math.floor(r * ceiling);
}
