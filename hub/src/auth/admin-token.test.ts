import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { openDb, type HubDb } from "../db/client.ts";
import { migrateDb } from "../db/migrate.ts";
import { apiTokens } from "../db/schema.ts";
import { tempDir } from "../test-support/harness.ts";
import { ensureAdminToken } from "./admin-token.ts";
import { sha256Hex } from "./secrets.ts";

let db: HubDb;
let dir: string;
afterEach(() => { db.close(); fs.rmSync(dir, { recursive: true, force: true }); });

describe("ensureAdminToken", () => {
  it("creates one token on the first call only, stores its hash, and warns when a different one is given later", async () => {
    dir = tempDir();
    db = await openDb({ url: `file:${path.join(dir, "hub.db")}` });
    await migrateDb(db);
    const token = await ensureAdminToken(db, "opa_first-token-0123456789");
    expect(token).toBe("opa_first-token-0123456789");
    expect((await db.db.select().from(apiTokens)).map((r) => r.tokenHash)).toEqual([sha256Hex(token!)]);

    const warnings: string[] = [];
    expect(await ensureAdminToken(db, "opa_first-token-0123456789", new Date(), (m) => warnings.push(m))).toBeNull();
    expect(warnings).toEqual([]);
    expect(await ensureAdminToken(db, "opa_second-token-012345678", new Date(), (m) => warnings.push(m))).toBeNull();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).not.toContain("opa_second");
    expect(await db.db.select().from(apiTokens)).toHaveLength(1);
  });

  it("refuses a given token too short to be a secret", async () => {
    dir = tempDir();
    db = await openDb({ url: `file:${path.join(dir, "hub.db")}` });
    await migrateDb(db);
    await expect(ensureAdminToken(db, "short")).rejects.toThrow(/at least 16/);
    expect(await db.db.select().from(apiTokens)).toHaveLength(0);
  });
});
