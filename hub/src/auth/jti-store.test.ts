import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { openDb, type HubDb } from "../db/client.ts";
import { migrateDb } from "../db/migrate.ts";
import { usedJtis } from "../db/schema.ts";
import { tempDir } from "../test-support/harness.ts";
import { jtiStore, purgeExpiredJtis } from "./jti-store.ts";

let db: HubDb;
let dir: string;
afterEach(() => { db.close(); fs.rmSync(dir, { recursive: true, force: true }); });

async function fresh() {
  dir = tempDir();
  db = await openDb({ url: `file:${path.join(dir, "hub.db")}` });
  await migrateDb(db);
}

describe("jti replay store", () => {
  it("says 'seen' only the second time, and per site", async () => {
    await fresh();
    const exp = Math.floor(Date.now() / 1000) + 60;
    expect(await jtiStore(db, "a")("J1", exp)).toBe(false);
    expect(await jtiStore(db, "a")("J1", exp)).toBe(true);
    expect(await jtiStore(db, "b")("J1", exp)).toBe(false);
  });

  it("concurrent uses of one token let exactly one through", async () => {
    await fresh();
    const exp = Math.floor(Date.now() / 1000) + 60;
    const seen = await Promise.all(Array.from({ length: 20 }, () => jtiStore(db, "a")("J2", exp)));
    expect(seen.filter((s) => !s)).toHaveLength(1);
  });

  it("purges ids once their tokens could no longer verify, keeps the rest", async () => {
    await fresh();
    const now = Date.now();
    await jtiStore(db, "a")("old", Math.floor(now / 1000) - 120);
    await jtiStore(db, "a")("live", Math.floor(now / 1000) + 30);
    expect(await purgeExpiredJtis(db, new Date(now))).toBe(1);
    expect((await db.db.select().from(usedJtis)).map((r) => r.jti)).toEqual(["a/live"]);
  });
});

describe("jti group commit", () => {
  it("many distinct tokens at once: each recorded once, in one go, none reported as seen", async () => {
    await fresh();
    const exp = Math.floor(Date.now() / 1000) + 60;
    const seen = await Promise.all(Array.from({ length: 2500 }, (_, i) => jtiStore(db, "s")(`T${i}`, exp)));
    expect(seen.every((s) => s === false)).toBe(true);
    expect((await db.db.select().from(usedJtis)).length).toBe(2500);
    // ...and every one of them is a replay afterwards.
    const again = await Promise.all(Array.from({ length: 2500 }, (_, i) => jtiStore(db, "s")(`T${i}`, exp)));
    expect(again.every((s) => s === true)).toBe(true);
  });
});
