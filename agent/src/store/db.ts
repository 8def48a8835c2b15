import { existsSync } from "node:fs";
import { join } from "node:path";
import { Mutex } from "../lib/mutex.ts";
import { StorageHealth } from "./health.ts";
import { openSqlite, type Db, type InStatement, type ResultSet } from "./sqlite.ts";
import { CORE_SCHEMA } from "./schema.ts";

export const STATE_FILE = "state.db";

/** A thin handle on the state file: reads go straight to SQLite, every write is one transaction. */
export interface Store {
  readonly path: string;
  readonly db: Db;
  /**
   * Runs the statements as ONE write transaction (BEGIN IMMEDIATE ... COMMIT): either all of them
   * survive a SIGKILL or none does. It runs synchronously (store/sqlite.ts), so no database
   * lock is ever held across an `await` (which would stall any other writer on the file).
   */
  write(stmts: InStatement[]): Promise<ResultSet[]>;
  /** Serialises this process's read-decide-write sequences (e.g. outbox insert + trim). */
  readonly lock: Mutex;
  /** Whether writes are being refused for lack of space (updated by every write). */
  readonly health: StorageHealth;
  close(): void;
}

export interface OpenOptions {
  /** Create the file and schema if missing (the agent); false for read-only tools (status). */
  create?: boolean;
  /** Extra idempotent DDL to run at open (the sim driver's tables). */
  schema?: string[];
}

/**
 * Opens the state file with a busy timeout, so other processes (status, drift tools) can share it.
 * One connection, synchronous calls (store/sqlite.ts): no database lock is ever held across an
 * `await`, and no pool holds idle connections (page cache, file descriptors) a site never needs.
 */
export function openDb(path: string): Db {
  return openSqlite(path, { timeoutMs: 5000 });
}

/**
 * The state file is small (trust, a few bundles, the outbox): checkpoint the WAL every 100 pages
 * and cut it back to 512 KiB afterwards, instead of SQLite's 1000 pages and no limit, so the WAL
 * stays a small multiple of the data on an edge box's flash. Per connection, hence at every open.
 */
const WAL_PRAGMAS = ["PRAGMA wal_autocheckpoint = 100", "PRAGMA journal_size_limit = 524288", "PRAGMA cache_size = -256"];

function existingStateFile(stateDir: string): string {
  const path = join(stateDir, STATE_FILE);
  if (!existsSync(path)) throw new Error(`no agent state file at ${path} (has the agent run with this state directory?)`);
  return path;
}

/**
 * Opens an existing state file from outside the agent (another process, a test, a technician's tool),
 * runs `fn` and closes it; never creates one.
 */
export async function withStateFile<T>(stateDir: string, fn: (db: Db) => Promise<T>): Promise<T> {
  const db = openDb(existingStateFile(stateDir));
  try { return await fn(db); } finally { db.close(); }
}

export async function openStore(stateDir: string, opts: OpenOptions = {}): Promise<Store> {
  const path = opts.create === false ? existingStateFile(stateDir) : join(stateDir, STATE_FILE);
  const db = openDb(path);
  try {
    if (opts.create !== false) {
      // WAL lets readers (outpost status, tests) read while the agent writes; it is a property of the
      // file and sticks once set. synchronous stays at SQLite's default FULL: an edge box loses power.
      await db.execute("PRAGMA journal_mode = WAL");
      await db.batch([...CORE_SCHEMA, ...(opts.schema ?? [])], "write");
    }
    for (const p of WAL_PRAGMAS) await db.execute(p);
  } catch (e) {
    db.close();
    throw e;
  }
  const health = new StorageHealth();
  return {
    path,
    db,
    lock: new Mutex(),
    health,
    write: async (stmts) => {
      if (!stmts.length) return [];
      try {
        const out = await db.batch(stmts, "write");
        health.observe(null);
        return out;
      } catch (e) {
        health.observe(e);
        throw e;
      }
    },
    close: () => db.close(),
  };
}
