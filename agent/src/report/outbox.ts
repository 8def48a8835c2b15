import type { InStatement } from "../store/sqlite.ts";
import { ReportItem, type ReportItemInput } from "@outpost/shared";
import { newId } from "../lib/ids.ts";
import type { Store } from "../store/db.ts";
import { journalAppend } from "../store/journal.ts";
import { outboxCount, outboxIndex, outboxInsert, outboxDelete } from "../store/outbox.ts";
import { chooseDrops } from "./policy.ts";

type Body<K extends ReportItem["kind"]> = Extract<ReportItemInput, { kind: K }>["body"];
export type NewReport =
  | { kind: "status"; body: Body<"status"> }
  | { kind: "telemetry"; body: Body<"telemetry"> }
  | { kind: "event"; body: Body<"event"> };

/** Gives a report its ULID and timestamp and validates it, so nothing the hub would refuse is queued. */
export function makeReport(r: NewReport, now = new Date()): ReportItem {
  return ReportItem.parse({ id: newId(), at: now.toISOString(), kind: r.kind, body: r.body });
}

/**
 * Queues reports in the state file BEFORE anything is sent, together with `also` (other statements
 * that must commit with them, e.g. the journal row or the accepted bundle), in one transaction,
 * then trims the queue to `max` by the drop policy.
 */
export async function enqueue(store: Store, items: ReportItem[], max: number, also: InStatement[] = []): Promise<{ dropped: number }> {
  return store.lock.run(async () => {
    const count = await outboxCount(store.db);
    let drops: string[] = [];
    if (count + items.length > max) {
      const queue = [...(await outboxIndex(store.db)), ...items.map((i) => ({ id: i.id, kind: i.kind }))];
      drops = chooseDrops(queue, max);
    }
    const dropStmts: InStatement[] = drops.length
      ? [...outboxDelete(drops), journalAppend("reports-dropped", { count: drops.length, reason: `outbox over ${max}` })]
      : [];
    await store.write([...also, ...items.map(outboxInsert), ...dropStmts]);
    return { dropped: drops.length };
  });
}
