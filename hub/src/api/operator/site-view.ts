import { and, eq, max } from "drizzle-orm";
import type { SiteView } from "@outpost/shared";
import type { Queryable } from "../../db/client.ts";
import { bundles, sites, type SiteRow } from "../../db/schema.ts";
import { HttpError } from "../errors.ts";

export function toSiteView(row: SiteRow, bundleVersion: number | null): SiteView {
  return {
    name: row.name,
    status: row.status,
    labels: row.labels,
    state: row.state ?? null,
    stale: row.stale,
    bundleVersion,
    appliedVersion: row.appliedVersion ?? null,
    release: row.reportedRelease ?? null,
    lastSeenAt: row.lastSeenAt?.toISOString() ?? null,
    createdAt: row.createdAt.toISOString(),
  };
}

/** Every site of a project with the newest bundle version issued for it (two queries, whatever the fleet size). */
export async function listSiteViews(q: Queryable, projectId: string): Promise<SiteView[]> {
  const rows = await q.select().from(sites).where(eq(sites.projectId, projectId)).orderBy(sites.name);
  const versions = await q.select({ siteId: bundles.siteId, v: max(bundles.version) }).from(bundles)
    .innerJoin(sites, eq(bundles.siteId, sites.id)).where(eq(sites.projectId, projectId)).groupBy(bundles.siteId);
  const bySite = new Map(versions.map((r) => [r.siteId, r.v]));
  return rows.map((r) => toSiteView(r, bySite.get(r.id) ?? null));
}

/** A site of the project; one in another project is as unknown as one that does not exist (404, not 403). */
export async function findSite(q: Queryable, name: string, projectId: string): Promise<SiteRow> {
  const [row] = await q.select().from(sites).where(and(eq(sites.name, name), eq(sites.projectId, projectId))).limit(1);
  if (!row) throw new HttpError(404, "SITE_NOT_FOUND", `no site named '${name}'`);
  return row;
}

export async function siteView(q: Queryable, name: string, projectId: string): Promise<SiteView> {
  const row = await findSite(q, name, projectId);
  const [v] = await q.select({ v: max(bundles.version) }).from(bundles).where(eq(bundles.siteId, row.id));
  return toSiteView(row, v?.v ?? null);
}
