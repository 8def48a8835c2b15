import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { tempDir } from "../test-support/harness.ts";
import { describeDbUrl, openDb, type HubDb } from "./client.ts";
import { migrateDb } from "./migrate.ts";
import { projects } from "./schema.ts";

let db: HubDb | undefined;
let dir: string;
afterEach(() => { db?.close(); fs.rmSync(dir, { recursive: true, force: true }); });

describe("openDb on a file", () => {
  it("runs in WAL mode, applies the committed migrations and creates the default project once", async () => {
    dir = tempDir();
    db = await openDb({ url: `file:${path.join(dir, "hub.db")}` });
    const mode = await db.client.execute("PRAGMA journal_mode");
    expect(String(mode.rows[0]?.[0])).toBe("wal");
    await migrateDb(db);
    await migrateDb(db); // a restart: nothing applied twice
    expect((await db.db.select().from(projects)).map((p) => p.name)).toEqual(["default"]);
  });

  it("interleaved read-then-write transactions neither deadlock nor lose updates", async () => {
    dir = tempDir();
    db = await openDb({ url: `file:${path.join(dir, "hub.db")}` });
    await db.client.execute("CREATE TABLE counter (n INTEGER NOT NULL)");
    await db.client.execute("INSERT INTO counter VALUES (0)");
    const bump = () => db!.transaction(async (tx) => {
      const r = await tx.run("SELECT n FROM counter") as unknown as { rows: [number][] };
      await new Promise((res) => setTimeout(res, 2)); // yield mid-transaction, as real handlers do
      await tx.run(`UPDATE counter SET n = ${Number(r.rows[0]![0]) + 1}`);
    });
    await Promise.all(Array.from({ length: 25 }, bump));
    expect(Number((await db.client.execute("SELECT n FROM counter")).rows[0]![0])).toBe(25);
  });
});

describe("describeDbUrl", () => {
  it("keeps credentials and tokens out of what gets logged", () => {
    dir = tempDir();
    expect(describeDbUrl("libsql://user:pw@db.example.org:443/?authToken=secret")).toBe("libsql://db.example.org:443");
    expect(describeDbUrl("file:/var/lib/outpost/hub.db?mode=rwc")).toBe("file:/var/lib/outpost/hub.db");
  });
});
