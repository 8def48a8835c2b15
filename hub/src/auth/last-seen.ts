import { eq } from "drizzle-orm";
import type { HubDb } from "../db/client.ts";
import { perKey } from "../db/group-commit.ts";
import { sites } from "../db/schema.ts";

interface Seen { siteId: string; at: Date }

/** All the sites seen since the last batch, in one transaction (db/group-commit.ts). */
const batcher = perKey((hub: HubDb) => async (seen: Seen[]): Promise<void[]> => {
  const latest = new Map<string, Date>();
  for (const s of seen) if (!(latest.get(s.siteId)! >= s.at)) latest.set(s.siteId, s.at);
  await hub.transaction(async (tx) => {
    for (const [siteId, at] of latest) await tx.update(sites).set({ lastSeenAt: at }).where(eq(sites.id, siteId));
  });
  return seen.map(() => undefined);
});

/**
 * Records when a site last made an authenticated call (HTTPS) or sent reports (MQTT), at most once
 * per `everyMs` per site, and those of many sites together: a long-polling fleet would otherwise
 * turn every request into a database write of its own.
 */
export class LastSeen {
  readonly #written = new Map<string, number>();
  constructor(private readonly hub: HubDb, private readonly everyMs = 5000) {}

  async touch(siteId: string, now: Date): Promise<void> {
    const last = this.#written.get(siteId);
    if (last !== undefined && now.getTime() - last < this.everyMs) return;
    this.#written.set(siteId, now.getTime());
    await batcher(this.hub).submit({ siteId, at: now });
  }
}
