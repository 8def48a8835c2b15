/**
 * The outbox bound (DESIGN §4): when the queue holds more than `max` reports, drop the oldest
 * telemetry first, then the oldest status reports. Events are never dropped, even if that leaves
 * the queue above `max`: they are the record of what happened (rejections, heals, failures),
 * while telemetry and status are samples the next report supersedes.
 *
 * Pure: takes the queue in id (= age) order, returns the ids to delete.
 */
export type QueuedKind = "status" | "telemetry" | "event";

export function chooseDrops(queue: readonly { id: string; kind: QueuedKind }[], max: number): string[] {
  let excess = queue.length - Math.max(0, max);
  if (excess <= 0) return [];
  const drops: string[] = [];
  for (const kind of ["telemetry", "status"] as const) {
    for (const item of queue) {
      if (excess <= 0) return drops;
      if (item.kind === kind) { drops.push(item.id); excess--; }
    }
  }
  return drops;
}
