import { lt } from "drizzle-orm";
import { AGENT_JWT_LEEWAY_S } from "@outpost/shared";
import type { HubDb } from "../db/client.ts";
import { usedJtis } from "../db/schema.ts";

interface Pending { key: string; expiresAt: Date; resolve: (seen: boolean) => void; reject: (e: unknown) => void }

/**
 * Group commit for token ids. Every agent request records its jti, and a durable write costs an
 * fsync; requests arriving together share one INSERT and one commit instead (bench poll: the jti
 * write was the largest cost of an unchanged long-poll answer).
 */
class JtiBatcher {
  #pending: Pending[] = [];
  #scheduled = false;
  constructor(private readonly hub: HubDb) {}

  record(key: string, expiresAt: Date): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ key, expiresAt, resolve, reject });
      if (!this.#scheduled) { this.#scheduled = true; setImmediate(() => void this.#flush()); }
    });
  }

  async #flush(): Promise<void> {
    const batch = this.#pending;
    this.#pending = [];
    this.#scheduled = false;
    // A token used twice within one batch: the first use proceeds, the second is a replay.
    const first = new Map<string, Pending>();
    for (const p of batch) {
      if (first.has(p.key)) p.resolve(true); else first.set(p.key, p);
    }
    const unique = [...first.values()];
    try {
      const inserted = new Set<string>();
      for (let i = 0; i < unique.length; i += 1000) { // stay far below SQLite's bound-parameter limit
        const rows = unique.slice(i, i + 1000).map((p) => ({ jti: p.key, expiresAt: p.expiresAt }));
        const got = await this.hub.write((db) => db.insert(usedJtis).values(rows).onConflictDoNothing().returning({ jti: usedJtis.jti }));
        for (const r of got) inserted.add(r.jti);
      }
      for (const p of unique) p.resolve(!inserted.has(p.key)); // nothing inserted: seen before
    } catch (e) {
      for (const p of unique) p.reject(e);
    }
  }
}

const batchers = new WeakMap<HubDb, JtiBatcher>();

/**
 * The replay store `verifyAgentJwt` asks: insert-or-fail on the primary key, so two replicas seeing
 * the same token at once still let exactly one through. Keys are namespaced by site, so one site
 * cannot burn another's token ids.
 */
export function jtiStore(hub: HubDb, site: string) {
  let batcher = batchers.get(hub);
  if (!batcher) { batcher = new JtiBatcher(hub); batchers.set(hub, batcher); }
  const b = batcher;
  return (jti: string, expiresAtS: number): Promise<boolean> => b.record(`${site}/${jti}`, new Date(expiresAtS * 1000));
}

/** Drops ids whose tokens could no longer verify anyway (past exp plus the clock-skew leeway). */
export async function purgeExpiredJtis(hub: HubDb, now = new Date()): Promise<number> {
  const cutoff = new Date(now.getTime() - AGENT_JWT_LEEWAY_S * 1000);
  const gone = await hub.write((db) => db.delete(usedJtis).where(lt(usedJtis.expiresAt, cutoff)).returning({ jti: usedJtis.jti }));
  return gone.length;
}
