import type { Db, InStatement } from "./sqlite.ts";

/** Small JSON documents by key. Readers validate what they get back; this module only moves JSON. */
export const KV = {
  agent: "agent",
  trust: "trust",
  enrollment: "enrollment",
  reconcile: "reconcile",
  hubLink: "hub-link",
} as const;

export function kvSet(key: string, value: unknown, now = new Date()): InStatement {
  return {
    sql: `INSERT INTO kv (key, value, updated_at) VALUES (?, ?, ?)
          ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
    args: [key, JSON.stringify(value), now.toISOString()],
  };
}

export async function kvGet(db: Pick<Db, "execute">, key: string): Promise<unknown> {
  const rs = await db.execute({ sql: "SELECT value FROM kv WHERE key = ?", args: [key] });
  const row = rs.rows[0];
  return row ? (JSON.parse(String(row.value)) as unknown) : undefined;
}
