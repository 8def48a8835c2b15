import { lt } from "drizzle-orm";
import { AGENT_JWT_LEEWAY_S } from "@outpost/shared";
import type { HubDb } from "../db/client.ts";
import { perKey } from "../db/group-commit.ts";
import { usedJtis } from "../db/schema.ts";

interface Use { key: string; expiresAt: Date }

/**
 * Group commit for token ids (db/group-commit.ts). Every agent request records its jti, and a
 * durable write costs an fsync; requests arriving together share one INSERT and one commit instead
 * (bench poll: the jti write was the largest cost of an unchanged long-poll answer). Returns, per
 * use, whether the id had been seen before.
 */
const batcher = perKey((hub: HubDb) => async (uses: Use[]): Promise<boolean[]> => {
  // A token used twice within one batch: the first use proceeds, the second is a replay.
  const firsts = new Map<string, Use>();
  const repeat = uses.map((u) => { if (firsts.has(u.key)) return true; firsts.set(u.key, u); return false; });
  const unique = [...firsts.values()];
  const inserted = new Set<string>();
  await hub.transaction(async (tx) => {
    for (let i = 0; i < unique.length; i += 1000) { // stay far below SQLite's bound-parameter limit
      const rows = unique.slice(i, i + 1000).map((u) => ({ jti: u.key, expiresAt: u.expiresAt }));
      for (const r of await tx.insert(usedJtis).values(rows).onConflictDoNothing().returning({ jti: usedJtis.jti })) inserted.add(r.jti);
    }
  });
  return uses.map((u, i) => repeat[i]! || !inserted.has(u.key)); // nothing inserted: seen before
});

/**
 * The replay store `verifyAgentJwt` asks: insert-or-fail on the primary key, so two replicas seeing
 * the same token at once still let exactly one through. Keys are namespaced by site, so one site
 * cannot burn another's token ids.
 */
export function jtiStore(hub: HubDb, site: string) {
  const b = batcher(hub);
  return (jti: string, expiresAtS: number): Promise<boolean> => b.submit({ key: `${site}/${jti}`, expiresAt: new Date(expiresAtS * 1000) });
}

/** Drops ids whose tokens could no longer verify anyway (past exp plus the clock-skew leeway). */
export async function purgeExpiredJtis(hub: HubDb, now = new Date()): Promise<number> {
  const cutoff = new Date(now.getTime() - AGENT_JWT_LEEWAY_S * 1000);
  const gone = await hub.write((db) => db.delete(usedJtis).where(lt(usedJtis.expiresAt, cutoff)).returning({ jti: usedJtis.jti }));
  return gone.length;
}
