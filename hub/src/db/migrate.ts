import { fileURLToPath } from "node:url";
import { migrate } from "drizzle-orm/libsql/migrator";
import type { HubDb } from "./client.ts";
import { projects } from "./schema.ts";

/** The committed drizzle-kit migrations (hub/drizzle); never edited by hand once committed. */
export const MIGRATIONS_DIR = fileURLToPath(new URL("../../drizzle", import.meta.url));
export const DEFAULT_PROJECT = "default";

/** Brings the schema up to date and makes sure the default project exists. */
export async function migrateDb(hub: HubDb, now = new Date()): Promise<void> {
  await hub.write(async (db) => {
    await migrate(db, { migrationsFolder: MIGRATIONS_DIR });
    await db.insert(projects).values({ id: DEFAULT_PROJECT, name: DEFAULT_PROJECT, createdAt: now }).onConflictDoNothing();
  });
}
