import { eq } from "drizzle-orm";
import type { HubDb } from "../db/client.ts";
import { sites } from "../db/schema.ts";

/**
 * Records when a site last made an authenticated call, at most once per `everyMs` per site: a
 * long-polling fleet would otherwise turn every request into a database write.
 */
export class LastSeen {
  readonly #written = new Map<string, number>();
  constructor(private readonly hub: HubDb, private readonly everyMs = 5000) {}

  async touch(siteId: string, now: Date): Promise<void> {
    const last = this.#written.get(siteId);
    if (last !== undefined && now.getTime() - last < this.everyMs) return;
    this.#written.set(siteId, now.getTime());
    await this.hub.write((db) => db.update(sites).set({ lastSeenAt: now }).where(eq(sites.id, siteId)));
  }
}
