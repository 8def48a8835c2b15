import { join } from "node:path";
import { createClient } from "@libsql/client";

/** Reads an agent's state file from outside, as a technician (or a test) would with sqlite3. */
export async function withStateFile<T>(stateDir: string, fn: (db: ReturnType<typeof createClient>) => Promise<T>): Promise<T> {
  const db = createClient({ url: `file:${join(stateDir, "state.db")}` });
  try { return await fn(db); } finally { db.close(); }
}

export async function integrityCheck(stateDir: string): Promise<string> {
  return withStateFile(stateDir, async (db) => String((await db.execute("PRAGMA integrity_check")).rows[0]?.[0]));
}

/** Event reports still waiting in the outbox: their ids and types. */
export async function queuedEvents(stateDir: string): Promise<{ id: string; type: string }[]> {
  return withStateFile(stateDir, async (db) => (await db.execute("SELECT id, body FROM outbox WHERE kind = 'event' ORDER BY id")).rows
    .map((r) => ({ id: String(r.id), type: String(JSON.parse(String(r.body)).type) })));
}
