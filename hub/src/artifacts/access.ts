import { sql } from "drizzle-orm";
import type { Queryable } from "../db/client.ts";
import { bundles, releases } from "../db/schema.ts";

/**
 * Whether any bundle ever issued to this site names the artifact. A site sees only what its own
 * signed bundles point at (any of them, so one rolled back to an older release still gets its
 * image); everything else is "not found", whether or not the hub holds the bytes.
 * A bundle's artifacts[] are its release's, so the check reads the release each bundle was made from.
 */
export async function siteMayFetch(q: Queryable, siteId: string, sha256: string): Promise<boolean> {
  // all(), not get(): drizzle's get() on a raw query throws when no row matches.
  const rows = await q.all<{ hit: number }>(sql`
    SELECT 1 AS hit FROM ${bundles} JOIN ${releases} ON ${releases.id} = ${bundles.releaseId}, json_each(${releases.artifacts}) AS a
    WHERE ${bundles.siteId} = ${siteId} AND json_extract(a.value, '$.sha256') = ${sha256}
    LIMIT 1`);
  return rows.length > 0;
}
