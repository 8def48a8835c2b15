import { and, eq, inArray, max } from "drizzle-orm";
import { decodeProtectedHeader } from "jose";
import type { HubDeps } from "../api/deps.ts";
import { bundles, releases, sites } from "../db/schema.ts";
import { issueBundle, latestVersion } from "./issue.ts";

/**
 * An online site must never drift into "stale" just because its bundle aged: once half of a
 * bundle's lifetime has passed, or when it was signed by a key that is no longer the active one
 * (rotated or retired), the site gets the same release again as a new, higher version.
 * Pure, so the rule is unit-tested without a database.
 */
export function needsRenewal(b: { expiresAt: Date; kid: string }, now: Date, ttlHours: number, activeKid: string): boolean {
  return b.kid !== activeKid || b.expiresAt.getTime() - now.getTime() < (ttlHours * 3600_000) / 2;
}

/** How often the hub looks: a quarter of the lifetime, between 1 s and 1 h. */
export function renewalIntervalMs(ttlHours: number): number {
  return Math.min(3600_000, Math.max(1000, (ttlHours * 3600_000) / 4));
}

function kidOf(jws: string): string {
  try { return String(decodeProtectedHeader(jws).kid ?? ""); } catch { return ""; }
}

export async function renewBundles(deps: Pick<HubDeps, "hub" | "keys" | "notifier" | "bundleTtlHours" | "now">): Promise<{ site: string; version: number }[]> {
  const now = deps.now();
  const key = await deps.keys.activeBundleKey();
  const newest = deps.hub.db.select({ siteId: bundles.siteId, v: max(bundles.version).as("v") }).from(bundles).groupBy(bundles.siteId).as("newest");
  const rows = await deps.hub.db
    .select({ siteId: bundles.siteId, version: bundles.version, jws: bundles.jws, expiresAt: bundles.expiresAt, releaseId: bundles.releaseId, name: sites.name })
    .from(bundles)
    .innerJoin(newest, and(eq(bundles.siteId, newest.siteId), eq(bundles.version, newest.v)))
    .innerJoin(sites, and(eq(sites.id, bundles.siteId), eq(sites.status, "approved")));
  const due = rows.filter((r) => needsRenewal({ expiresAt: r.expiresAt, kid: kidOf(r.jws) }, now, deps.bundleTtlHours, key.kid));
  if (due.length === 0) return [];

  const releaseRows = await deps.hub.db.select().from(releases).where(inArray(releases.id, [...new Set(due.map((d) => d.releaseId))]));
  const byId = new Map(releaseRows.map((r) => [r.id, r]));
  const renewed: { site: string; version: number }[] = [];
  for (const d of due) {
    // One short transaction per site: renewal must not hold the write lock over a whole fleet.
    const version = await deps.hub.transaction(async (tx) => {
      if ((await latestVersion(tx, d.siteId)) !== d.version) return null; // an assignment got there first
      return issueBundle(tx, { key, now, ttlHours: deps.bundleTtlHours }, { id: d.siteId, name: d.name }, byId.get(d.releaseId)!);
    });
    if (version !== null) {
      renewed.push({ site: d.name, version });
      deps.notifier.publish(d.name, version);
    }
  }
  return renewed;
}
