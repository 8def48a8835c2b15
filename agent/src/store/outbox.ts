import type { Db, InStatement } from "./sqlite.ts";
import type { ReportItem } from "@outpost/shared";

/** The outbox table: reports persisted before any send, deleted only once the hub acks their id. */
export type ReportKind = ReportItem["kind"];

export function outboxInsert(item: ReportItem): InStatement {
  return { sql: "INSERT INTO outbox (id, kind, body, at) VALUES (?, ?, ?, ?)", args: [item.id, item.kind, JSON.stringify(item.body), item.at] };
}

export function outboxDelete(ids: readonly string[]): InStatement[] {
  // Chunked: SQLite caps the number of bound parameters per statement.
  const out: InStatement[] = [];
  for (let i = 0; i < ids.length; i += 500) {
    const chunk = ids.slice(i, i + 500);
    out.push({ sql: `DELETE FROM outbox WHERE id IN (${chunk.map(() => "?").join(",")})`, args: [...chunk] });
  }
  return out;
}

export async function outboxCount(db: Pick<Db, "execute">): Promise<number> {
  const rs = await db.execute("SELECT COUNT(*) AS n FROM outbox");
  return Number(rs.rows[0]?.n ?? 0);
}

/** (id, kind) of every queued report, oldest first: what the drop policy decides over. */
export async function outboxIndex(db: Pick<Db, "execute">): Promise<{ id: string; kind: ReportKind }[]> {
  const rs = await db.execute("SELECT id, kind FROM outbox ORDER BY id");
  return rs.rows.map((r) => ({ id: String(r.id), kind: String(r.kind) as ReportKind }));
}

export async function outboxOldest(db: Pick<Db, "execute">, limit: number): Promise<ReportItem[]> {
  const rs = await db.execute({ sql: "SELECT id, kind, body, at FROM outbox ORDER BY id LIMIT ?", args: [limit] });
  return rs.rows.map((r) => ({ id: String(r.id), kind: String(r.kind), at: String(r.at), body: JSON.parse(String(r.body)) }) as ReportItem);
}

/** Newest events still waiting in the outbox (the status command shows them next to the journal). */
export async function outboxRecentEvents(db: Pick<Db, "execute">, limit: number): Promise<ReportItem[]> {
  const rs = await db.execute({ sql: "SELECT id, kind, body, at FROM outbox WHERE kind = 'event' ORDER BY id DESC LIMIT ?", args: [limit] });
  return rs.rows.map((r) => ({ id: String(r.id), kind: "event", at: String(r.at), body: JSON.parse(String(r.body)) }) as ReportItem);
}

/** The newest report id this state file knows of: queued, or the last event journaled (sent or not). */
export async function newestReportId(db: Pick<Db, "execute">): Promise<string | null> {
  const rs = await db.execute(`SELECT MAX(id) AS id FROM (
    SELECT MAX(id) AS id FROM outbox
    UNION ALL SELECT json_extract(detail, '$.id') FROM (SELECT detail FROM journal WHERE type LIKE 'event:%' ORDER BY seq DESC LIMIT 1))`);
  const id = rs.rows[0]?.id;
  return typeof id === "string" ? id : null;
}
