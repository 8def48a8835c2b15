/**
 * The state file's SQL handle: libSQL's Client API (execute, batch, close; rows readable by column
 * name and by index) over better-sqlite3, a synchronous SQLite binding. Same file format as before
 * (SQLite 3, WAL): what @libsql/client wrote this opens, and tests still read it with @libsql/client.
 * Why not @libsql/client: its 9.7 MB native library, two tokio threads and its JS layers cost an idle
 * agent ~12 MB more RSS than this (agent/README.md "Footprint").
 */
import Database from "better-sqlite3";

/** A column value as read (BLOBs come back as Buffers; ArrayBuffer is how libSQL's client gives them). */
export type SqlValue = null | string | number | bigint | Uint8Array | ArrayBuffer;
/** What a statement's arguments may hold; booleans and dates are stored as libSQL stores them (1/0, epoch ms). */
export type InValue = SqlValue | boolean | Date;
export type InStatement = string | { sql: string; args?: InValue[] | Record<string, InValue> };

/** A row: its values by column name (enumerable) and by position (as libSQL's Row). */
export type Row = Record<string, SqlValue> & { readonly [index: number]: SqlValue; readonly length: number };

export interface ResultSet {
  columns: string[];
  rows: Row[];
  rowsAffected: number;
  lastInsertRowid: bigint | undefined;
}

/** "write" takes the write lock up front (BEGIN IMMEDIATE), as libSQL's batch does. */
export type TransactionMode = "write" | "read" | "deferred";

/** The agent's handle on one SQLite file: every call is synchronous underneath, as libSQL's local client. */
export interface Db {
  execute(stmt: InStatement): Promise<ResultSet>;
  batch(stmts: InStatement[], mode?: TransactionMode): Promise<ResultSet[]>;
  close(): void;
}

function toSql(v: InValue | undefined): SqlValue {
  if (v === undefined) throw new TypeError("undefined cannot be passed as argument to the database");
  if (typeof v === "boolean") return v ? 1 : 0;
  if (v instanceof Date) return v.valueOf();
  if (v instanceof ArrayBuffer) return Buffer.from(v);
  return v;
}

function bindings(args: InValue[] | Record<string, InValue> | undefined): SqlValue[] | Record<string, SqlValue> {
  if (args === undefined) return [];
  if (Array.isArray(args)) return args.map(toSql);
  const named: Record<string, SqlValue> = {};
  for (const [k, v] of Object.entries(args)) named[/^[@$:]/.test(k) ? k.slice(1) : k] = toSql(v);
  return named;
}

function row(values: SqlValue[], columns: string[]): Row {
  const r: Record<string | number, SqlValue> = {};
  Object.defineProperty(r, "length", { value: values.length });
  values.forEach((v, i) => {
    Object.defineProperty(r, i, { value: v });
    if (!Object.hasOwn(r, columns[i]!)) r[columns[i]!] = v;
  });
  return r as Row;
}

function run(db: Database.Database, stmt: InStatement): ResultSet {
  const { sql, args } = typeof stmt === "string" ? { sql: stmt, args: undefined } : stmt;
  const st = db.prepare(sql);
  const params = bindings(args);
  if (st.reader) {
    const columns = st.columns().map((c) => c.name);
    const rows = (st.raw(true).all(params) as SqlValue[][]).map((v) => row(v, columns));
    return { columns, rows, rowsAffected: 0, lastInsertRowid: undefined };
  }
  const info = st.run(params);
  return { columns: [], rows: [], rowsAffected: info.changes, lastInsertRowid: BigInt(info.lastInsertRowid) };
}

const BEGIN: Record<TransactionMode, string> = { write: "BEGIN IMMEDIATE", read: "BEGIN DEFERRED", deferred: "BEGIN DEFERRED" };

/** Opens (creating it if missing) the SQLite file at `path`; a busy file is waited on for `timeoutMs`. */
export function openSqlite(path: string, opts: { timeoutMs: number }): Db {
  const db = new Database(path, { timeout: opts.timeoutMs });
  return {
    execute: async (stmt) => run(db, stmt),
    batch: async (stmts, mode = "deferred") => {
      run(db, BEGIN[mode]);
      try {
        const out = stmts.map((s) => run(db, s));
        run(db, "COMMIT");
        return out;
      } catch (e) {
        if (db.inTransaction) run(db, "ROLLBACK");
        throw e;
      }
    },
    close: () => db.close(),
  };
}
