import { join } from "node:path";
import { createClient } from "@libsql/client";
import { afterEach, describe, expect, it } from "vitest";
import { tempDir } from "../testing/harness.ts";
import { openStore, STATE_FILE } from "./db.ts";
import { kvGet, kvSet } from "./kv.ts";
import { CORE_SCHEMA } from "./schema.ts";
import { openSqlite } from "./sqlite.ts";

const cleanups: (() => void)[] = [];
afterEach(() => { while (cleanups.length) cleanups.pop()!(); });
const dir = () => { const t = tempDir(); cleanups.push(t.cleanup); return t.dir; };

describe("the state file over better-sqlite3", () => {
  it("opens a state file an earlier agent wrote with @libsql/client, and libSQL reads what it writes", async () => {
    const d = dir();
    // What the previous agent version did, with libSQL's own client: WAL, the schema, a write.
    const old = createClient({ url: `file:${join(d, STATE_FILE)}` });
    await old.execute("PRAGMA journal_mode = WAL");
    await old.batch(CORE_SCHEMA, "write");
    await old.batch([kvSet("agent", { site: "edge-1" })], "write");
    old.close();

    const store = await openStore(d);
    expect(await kvGet(store.db, "agent")).toEqual({ site: "edge-1" });
    await store.write([kvSet("trust", { site: "edge-1", bundleVersion: 3 })]);
    // Closed before libSQL opens the file: two SQLite libraries in one process must not hold one file
    // at once (closing either's descriptor drops the other's POSIX locks).
    store.close();

    const reader = createClient({ url: `file:${join(d, STATE_FILE)}` });
    cleanups.push(() => reader.close());
    const rs = await reader.execute("SELECT value FROM kv WHERE key = 'trust'");
    expect(JSON.parse(String(rs.rows[0]!.value))).toEqual({ site: "edge-1", bundleVersion: 3 });
    expect(String((await reader.execute("PRAGMA integrity_check")).rows[0]![0])).toBe("ok");
  });

  it("a batch is one transaction: a failing statement leaves nothing of it written", async () => {
    const db = openSqlite(join(dir(), "t.db"), { timeoutMs: 1000 });
    cleanups.push(() => db.close());
    await db.execute("CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER)");
    await expect(db.batch([
      { sql: "INSERT INTO t VALUES (?, ?)", args: ["a", 1] },
      { sql: "INSERT INTO t VALUES (?, ?)", args: ["a", 2] }, // primary key taken
    ], "write")).rejects.toThrow(/UNIQUE/);
    expect((await db.execute("SELECT COUNT(*) AS n FROM t")).rows[0]!.n).toBe(0);
    const [ins] = await db.batch([{ sql: "INSERT INTO t VALUES (?, ?)", args: ["b", 2] }], "write");
    expect(ins).toMatchObject({ rowsAffected: 1, lastInsertRowid: 1n });
  });

  it("rows read by column name and by position; arguments by position or name, booleans and dates as libSQL stores them", async () => {
    const db = openSqlite(join(dir(), "t.db"), { timeoutMs: 1000 });
    cleanups.push(() => db.close());
    await db.execute("CREATE TABLE t (k TEXT, flag INTEGER, at INTEGER, blob BLOB)");
    const at = new Date("2026-01-02T03:04:05Z");
    await db.execute({ sql: "INSERT INTO t VALUES (:k, $flag, @at, :blob)", args: { ":k": "x", flag: true, "@at": at, blob: new Uint8Array([1, 2]) } });
    const rs = await db.execute({ sql: "SELECT k, flag, at, blob, k AS again FROM t WHERE k = ?", args: ["x"] });
    expect(rs.columns).toEqual(["k", "flag", "at", "blob", "again"]);
    const r = rs.rows[0]!;
    expect([r.k, r.flag, r.at, r.again, r.length]).toEqual(["x", 1, at.valueOf(), "x", 5]);
    expect([r[0], r[1], r[2], r[4]]).toEqual(["x", 1, at.valueOf(), "x"]);
    expect([...(r.blob as Uint8Array)]).toEqual([1, 2]);
    expect(Object.keys(r)).toEqual(["k", "flag", "at", "blob", "again"]); // JSON.stringify(row) names columns, as libSQL's
    await expect(db.execute({ sql: "SELECT ?", args: [undefined as never] })).rejects.toThrow(/undefined/);
  });
});
