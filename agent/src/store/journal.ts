import type { Db, InStatement } from "./sqlite.ts";

/**
 * The local, append-only journal: every transition (bundle accepted or rejected, step started /
 * done / failed, heal, report flushed, each event) as one row. It is the technician's history and
 * is never rewritten; only rows beyond the retention horizon are pruned.
 */
export type JournalType =
  | "bundle-accepted" | "trust-updated" | "enrollment"
  | "step-started" | "step-done" | "step-failed" | "step-skipped"
  | "reconcile-run" | "report-flushed" | "reports-dropped"
  | "agent-started" | "agent-stopped"
  | "airgap-import" | "reports-exported"
  | `event:${string}`;

export const JOURNAL_RETENTION_ROWS = 100_000;

export function journalAppend(type: JournalType, detail: Record<string, unknown>, at = new Date()): InStatement {
  return { sql: "INSERT INTO journal (at, type, detail) VALUES (?, ?, ?)", args: [at.toISOString(), type, JSON.stringify(detail)] };
}

/** Keeps the newest JOURNAL_RETENTION_ROWS rows; an edge box's disk is not infinite. */
export function journalPrune(keep = JOURNAL_RETENTION_ROWS): InStatement {
  return { sql: "DELETE FROM journal WHERE seq <= (SELECT MAX(seq) FROM journal) - ?", args: [keep] };
}

export interface JournalRow { seq: number; at: string; type: string; detail: Record<string, unknown> }

export async function journalRecent(db: Pick<Db, "execute">, opts: { limit: number; typePrefix?: string }): Promise<JournalRow[]> {
  const rs = opts.typePrefix
    ? await db.execute({ sql: "SELECT seq, at, type, detail FROM journal WHERE type >= ? AND type < ? ORDER BY seq DESC LIMIT ?", args: [opts.typePrefix, opts.typePrefix + "\uffff", opts.limit] })
    : await db.execute({ sql: "SELECT seq, at, type, detail FROM journal ORDER BY seq DESC LIMIT ?", args: [opts.limit] });
  return rs.rows.map((r) => ({ seq: Number(r.seq), at: String(r.at), type: String(r.type), detail: JSON.parse(String(r.detail)) as Record<string, unknown> }));
}
