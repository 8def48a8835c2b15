import type { Db, InStatement } from "./sqlite.ts";
import { BundlePayload } from "@outpost/shared";

/** Accepted bundles. Only a handful are kept: the last good one is all the reconciler needs. */
export const BUNDLES_KEPT = 10;

export interface StoredBundle { version: number; jws: string; payload: BundlePayload; receivedAt: string }

export function bundleInsert(version: number, jws: string, payload: BundlePayload, now = new Date()): InStatement[] {
  return [
    { sql: "INSERT INTO bundles (version, jws, payload, received_at) VALUES (?, ?, ?, ?)", args: [version, jws, JSON.stringify(payload), now.toISOString()] },
    { sql: "DELETE FROM bundles WHERE version <= (SELECT MAX(version) FROM bundles) - ?", args: [BUNDLES_KEPT] },
  ];
}

/** The last good bundle: the highest version ever accepted. */
export async function currentBundle(db: Pick<Db, "execute">): Promise<StoredBundle | null> {
  const rs = await db.execute("SELECT version, jws, payload, received_at FROM bundles ORDER BY version DESC LIMIT 1");
  const row = rs.rows[0];
  if (!row) return null;
  // It was verified before it was stored; parsing again only restores the types (and defaults).
  return { version: Number(row.version), jws: String(row.jws), payload: BundlePayload.parse(JSON.parse(String(row.payload))), receivedAt: String(row.received_at) };
}
