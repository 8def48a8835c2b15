import { and, eq, inArray, max } from "drizzle-orm";
import type { HubDb } from "../db/client.ts";
import { bundles, sites } from "../db/schema.ts";

export interface SiteBundle { site: string; version: number; jws: string }

/**
 * The newest bundle of each approved site (all of them, or the named ones): what the broker must hold
 * retained. Read at publish time, never passed along from the issuer, so whatever order publishes
 * happen in, the last one carries the newest version.
 */
export async function newestBundles(hub: HubDb, names?: string[]): Promise<SiteBundle[]> {
  if (names && names.length === 0) return [];
  const out: SiteBundle[] = [];
  const chunks = names ? chunk(names, 500) : [undefined]; // far below SQLite's bound-parameter limit
  for (const part of chunks) {
    const latest = hub.db.select({ siteId: bundles.siteId, v: max(bundles.version).as("v") }).from(bundles)
      .groupBy(bundles.siteId).as("latest");
    const rows = await hub.db.select({ site: sites.name, version: bundles.version, jws: bundles.jws }).from(bundles)
      .innerJoin(latest, and(eq(bundles.siteId, latest.siteId), eq(bundles.version, latest.v)))
      .innerJoin(sites, eq(sites.id, bundles.siteId))
      .where(and(eq(sites.status, "approved"), part ? inArray(sites.name, part) : undefined));
    out.push(...rows);
  }
  return out;
}

function chunk<T>(xs: T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out;
}
