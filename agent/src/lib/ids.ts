import { decodeTime, monotonicFactory } from "ulid";

/**
 * Report ids are ULIDs from a monotonic factory: ids made within the same millisecond still sort
 * in creation order, which is what lets the outbox flush "in id order" mean "in the order it happened".
 * The factory also keeps them increasing when the clock steps back while the agent runs.
 */
const factory = monotonicFactory();
export const newId = (): string => factory();

/**
 * Across a restart the factory starts afresh from the clock: after the clock stepped back (an NTP
 * correction, a dead RTC battery) new ids would sort before the ones already queued or journaled, and
 * the outbox would send newer events first. Seeded with the newest id the state file holds, ids keep
 * increasing (their time part then stays at that moment until the clock catches up).
 */
export function continueIdsAfter(lastId: string | null | undefined): void {
  if (!lastId) return;
  let t: number;
  try { t = decodeTime(lastId); } catch { return; }
  if (t >= Date.now()) factory(t + 1);
}
