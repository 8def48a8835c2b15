import { lt } from "drizzle-orm";
import { AGENT_JWT_LEEWAY_S } from "@outpost/shared";
import type { HubDb } from "../db/client.ts";
import { usedJtis } from "../db/schema.ts";

/**
 * The replay store `verifyAgentJwt` asks: insert-or-fail on the primary key, so two replicas seeing
 * the same token at once still let exactly one through. Keys are namespaced by site, so one site
 * cannot burn another's token ids.
 */
export function jtiStore(hub: HubDb, site: string) {
  return async (jti: string, expiresAtS: number): Promise<boolean> => {
    const inserted = await hub.write((db) =>
      db.insert(usedJtis).values({ jti: `${site}/${jti}`, expiresAt: new Date(expiresAtS * 1000) })
        .onConflictDoNothing().returning({ jti: usedJtis.jti }));
    return inserted.length === 0; // nothing inserted: seen before
  };
}

/** Drops ids whose tokens could no longer verify anyway (past exp plus the clock-skew leeway). */
export async function purgeExpiredJtis(hub: HubDb, now = new Date()): Promise<number> {
  const cutoff = new Date(now.getTime() - AGENT_JWT_LEEWAY_S * 1000);
  const gone = await hub.write((db) => db.delete(usedJtis).where(lt(usedJtis.expiresAt, cutoff)).returning({ jti: usedJtis.jti }));
  return gone.length;
}
