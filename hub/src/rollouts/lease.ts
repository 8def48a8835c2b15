import { sql } from "drizzle-orm";
import type { HubDb, Queryable } from "../db/client.ts";

/**
 * A lease is one row `leases(name, holder, expires_at)` (DESIGN §7: nothing home-made for
 * consensus). Acquire and renew are the same single conditional upsert, so the database decides
 * atomically even with replicas racing: the row is taken when it is missing, already ours, or
 * expired. Expiry is judged with the caller's clock, so replicas need clocks that agree to well
 * within the TTL (the scheduler uses 3 ticks). Writers that act under a lease re-check it inside
 * their own transaction (`holdsLease`): a replica that stalled past expiry writes nothing.
 */
export async function acquireLease(hub: HubDb, name: string, holder: string, ttlMs: number, now: Date): Promise<boolean> {
  const at = now.getTime();
  const rows = await hub.write((db) => db.all<{ holder: string }>(sql`
    INSERT INTO leases (name, holder, expires_at) VALUES (${name}, ${holder}, ${at + ttlMs})
    ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
      WHERE leases.holder = excluded.holder OR leases.expires_at <= ${at}
    RETURNING holder`));
  return rows.length === 1 && rows[0]!.holder === holder;
}

export async function holdsLease(q: Queryable, name: string, holder: string, now: Date): Promise<boolean> {
  const rows = await q.all<{ n: number }>(sql`SELECT COUNT(*) AS n FROM leases WHERE name = ${name} AND holder = ${holder} AND expires_at > ${now.getTime()}`);
  return Number(rows[0]?.n ?? 0) === 1;
}

/** Gives the lease up at once (clean shutdown), so another replica need not wait for it to expire. */
export async function releaseLease(hub: HubDb, name: string, holder: string): Promise<void> {
  await hub.write((db) => db.run(sql`DELETE FROM leases WHERE name = ${name} AND holder = ${holder}`));
}

export async function leaseHolder(q: Queryable, name: string, now: Date): Promise<string | null> {
  const rows = await q.all<{ holder: string }>(sql`SELECT holder FROM leases WHERE name = ${name} AND expires_at > ${now.getTime()}`);
  return rows[0]?.holder ?? null;
}
