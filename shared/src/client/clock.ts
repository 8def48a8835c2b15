/**
 * How far this host's clock is from the hub's, read from the `Date` header of the hub's answers
 * (pure: no I/O). An agent signs its request tokens with a 60 s lifetime and the hub tolerates 30 s
 * of skew, so a site whose clock is an hour off would have every request refused, forever. Instead
 * the agent signs on the hub's time (local time + this offset) and says loudly that its clock is off.
 *
 * `Date` has one-second resolution: the hub's time was in [D, D + 1 s) when it answered, somewhere
 * between our send and receive. The estimate is D + 0.5 s against the midpoint of the round trip:
 * off by at most 0.5 s plus half the round trip, far inside the 30 s leeway.
 */
export const CLOCK_SKEW_THRESHOLD_MS = 5_000;

export function offsetFromDate(dateHeader: string | null | undefined, sentAtMs: number, receivedAtMs: number): number | null {
  if (!dateHeader) return null;
  const hub = Date.parse(dateHeader);
  if (!Number.isFinite(hub)) return null;
  return Math.round(hub + 500 - (sentAtMs + receivedAtMs) / 2);
}

/**
 * The offset to use after one more estimate: a skew under the threshold counts as none (NTP-synced
 * hosts differ by milliseconds, and a one-second header must not make the offset flap); otherwise
 * the new estimate replaces the old one when they differ by more than the threshold.
 */
export function nextOffset(current: number, estimate: number | null): number {
  if (estimate === null) return current;
  if (Math.abs(estimate) < CLOCK_SKEW_THRESHOLD_MS) return 0;
  return Math.abs(estimate - current) < CLOCK_SKEW_THRESHOLD_MS ? current : estimate;
}
