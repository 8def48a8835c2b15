import { withStateFile } from "../../agent/src/store/db.ts";

/**
 * Reads an agent's state file from outside, as a technician (or a test) would with sqlite3. With the
 * agent's own SQLite (better-sqlite3), not @libsql/client: tests run simulated agents in their own
 * process, and two SQLite libraries in one process on one file corrupt it (closing one library's
 * descriptor drops the other's POSIX locks: sqlite.org/howtocorrupt.html 2.2.1).
 */
export { withStateFile };

export async function integrityCheck(stateDir: string): Promise<string> {
  return withStateFile(stateDir, async (db) => String((await db.execute("PRAGMA integrity_check")).rows[0]?.[0]));
}

/** Event reports still waiting in the outbox: their ids and types. */
export async function queuedEvents(stateDir: string): Promise<{ id: string; type: string }[]> {
  return withStateFile(stateDir, async (db) => (await db.execute("SELECT id, body FROM outbox WHERE kind = 'event' ORDER BY id")).rows
    .map((r) => ({ id: String(r.id), type: String(JSON.parse(String(r.body)).type) })));
}
