/**
 * How far this host's clock is from the hub's, read from the `Date` header of the hub's answers
 * (pure: no I/O). An agent signs its request tokens with a 60 s lifetime and the hub tolerates 30 s
 * of skew, so a site whose clock is an hour off would have every request refused, forever. Instead
 * the agent signs on the hub's time (local time + this offset) and says loudly that its clock is off.
 *
 * `Date` has one-second resolution: the hub's time was in [D, D + 1 s) when it answered, somewhere
 * between our send and receive. So hub minus local lies in [D - received, D + 1 s - sent], and the
 * estimate is the point of that interval nearest zero: 0 when the answer is consistent with clocks
 * in step, else the least skew it proves. Never more skew than there is: a slow hub, a long queue or a
 * client whose event loop read the answer late widens the interval, it does not invent an offset (the
 * midpoint of the round trip did, on a fleet simulator starved of CPU). Off by at most the round trip
 * plus 1 s, far inside the 30 s leeway when the round trip is short.
 */
export const CLOCK_SKEW_THRESHOLD_MS = 5_000;

export function offsetFromDate(dateHeader: string | null | undefined, sentAtMs: number, receivedAtMs: number): number | null {
  if (!dateHeader) return null;
  const hub = Date.parse(dateHeader);
  if (!Number.isFinite(hub)) return null;
  const low = hub - receivedAtMs, high = hub + 999 - sentAtMs;
  return low > 0 ? low : high < 0 ? high : 0;
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
