import { createClient, type Client, type ResultSet } from "@libsql/client";
import { drizzle, type LibSQLDatabase } from "drizzle-orm/libsql";
import type { BaseSQLiteDatabase } from "drizzle-orm/sqlite-core";
import * as schema from "./schema.ts";
import { Mutex } from "./mutex.ts";

export type Db = LibSQLDatabase<typeof schema>;
/** The database or an open transaction on it: queries that work in both take this. */
export type Queryable = BaseSQLiteDatabase<"async", ResultSet, typeof schema>;

export interface HubDb {
  db: Db;
  client: Client;
  /** Runs one or more writes under the in-process writer lock (see Mutex for why every write does). */
  write<T>(fn: (db: Db) => Promise<T>): Promise<T>;
  /** An interactive transaction under the writer lock: throw to roll everything back. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): void;
}

export interface DbOptions {
  /** `file:/path/hub.db`, or a remote `libsql://` / `http(s)://` URL (sqld, Turso). */
  url: string;
  authToken?: string;
  /** How long a local write waits for another process's lock before failing. */
  busyTimeoutMs?: number;
}

export async function openDb(opts: DbOptions): Promise<HubDb> {
  const isFile = opts.url.startsWith("file:");
  const client = createClient({
    url: opts.url,
    ...(opts.authToken ? { authToken: opts.authToken } : {}),
    // The driver applies this busy timeout to every pooled connection; a PRAGMA would reach only one.
    ...(isFile ? { timeout: opts.busyTimeoutMs ?? 5000 } : {}),
  });
  try {
    // WAL lets readers (long-polls, listings) proceed while a write is in progress; it is persistent.
    await client.execute(isFile ? "PRAGMA journal_mode=WAL" : "SELECT 1");
  } catch (e) {
    client.close();
    // Say which database and why (a wrong auth token, say) instead of failing later on a migration.
    throw new Error(`cannot open database ${describeDbUrl(opts.url)}: ${(e as Error).message}`, { cause: e });
  }
  const db = drizzle(client, { schema });
  const lock = new Mutex();
  return {
    db,
    client,
    write: (fn) => lock.run(() => fn(db)),
    transaction: (fn) => lock.run(() => db.transaction((tx) => fn(tx))),
    close: () => client.close(),
  };
}

/** A database URL fit for logs: the file path, or scheme and host without credentials or query. */
export function describeDbUrl(url: string): string {
  if (url.startsWith("file:")) return url.split("?")[0]!;
  try { const u = new URL(url); return `${u.protocol}//${u.host}`; } catch { return "(unparseable database URL)"; }
}
