import { and, desc, eq, inArray, max } from "drizzle-orm";
import { ulid } from "ulid";
import { parseSelector, SelectorError, signBundle } from "@outpost/shared";
import type { HubDeps } from "../api/deps.ts";
import { HttpError } from "../api/errors.ts";
import type { Queryable } from "../db/client.ts";
import { DEFAULT_PROJECT } from "../db/migrate.ts";
import { assignments, bundles, releases, sites } from "../db/schema.ts";
import type { ActiveBundleKey } from "../signing/keystore.ts";
import { bundlePayload, nextVersion, selectSites } from "./plan.ts";

export interface AssignInput {
  release: { name: string; version: string };
  selector: string;
  maxSites?: number;
  projectId?: string;
}

/**
 * Assigns a release to the approved sites a selector matches: one new signed bundle per site
 * (its previous version + 1), all in one transaction so a failure issues nothing; long-polls are
 * woken only after the commit, so an agent never fetches a bundle that was rolled back.
 */
export async function assignRelease(deps: Pick<HubDeps, "hub" | "keys" | "notifier" | "bundleTtlHours" | "now">, input: AssignInput) {
  const projectId = input.projectId ?? DEFAULT_PROJECT;
  try { parseSelector(input.selector); } catch (e) {
    if (e instanceof SelectorError) throw new HttpError(400, "SELECTOR", `bad selector: ${e.message}`, [{ path: "selector", message: e.message }]);
    throw e;
  }
  const now = deps.now();
  const assigned = await deps.hub.transaction(async (tx) => {
    const [release] = await tx.select().from(releases).where(and(
      eq(releases.projectId, projectId), eq(releases.name, input.release.name), eq(releases.version, input.release.version),
    )).limit(1);
    if (!release) throw new HttpError(404, "RELEASE_NOT_FOUND", `no release ${input.release.name}@${input.release.version}`);

    const candidates = await tx.select().from(sites).where(eq(sites.projectId, projectId)).orderBy(sites.name);
    const matched = selectSites(input.selector, candidates);
    if (input.maxSites !== undefined && matched.length > input.maxSites) {
      throw new HttpError(409, "TOO_MANY_SITES", `selector matches ${matched.length} sites, more than maxSites ${input.maxSites}`);
    }
    const key = await deps.keys.activeBundleKey(tx);
    const versions = await issueBundles(tx, { key, now, ttlHours: deps.bundleTtlHours }, matched, release);
    await setAssignments(tx, matched.map((s) => s.id), release.id, now);
    return matched.map((s) => ({ site: s.name, version: versions.get(s.id)! }));
  });
  for (const a of assigned) deps.notifier.publish(a.site, a.version);
  return { release: { name: input.release.name, version: input.release.version }, assigned };
}

/** Rows per multi-row statement: well under SQLite's bound-parameter limit. */
const CHUNK = 400;
/** Signatures in flight at once: WebCrypto signs on libuv's thread pool. */
const SIGNING = 64;

export interface IssueContext { key: ActiveBundleKey; now: Date; ttlHours: number }

/**
 * Signs and stores the next bundle version of each site for a release; returns site id -> version.
 * Run inside the caller's transaction, so the version reads and the inserts cannot interleave. The
 * versions are read, the bundles signed and the rows inserted a chunk at a time: a wave of
 * thousands of sites holds the writer for a second or two, not one round trip per site.
 */
export async function issueBundles(
  tx: Queryable, ctx: IssueContext, targets: readonly { id: string; name: string }[], release: typeof releases.$inferSelect,
): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const expiresAt = new Date(ctx.now.getTime() + ctx.ttlHours * 3600_000);
  for (let i = 0; i < targets.length; i += CHUNK) {
    const chunk = targets.slice(i, i + CHUNK);
    const latest = new Map((await tx.select({ siteId: bundles.siteId, v: max(bundles.version) }).from(bundles)
      .where(inArray(bundles.siteId, chunk.map((s) => s.id))).groupBy(bundles.siteId)).map((r) => [r.siteId, r.v]));
    const rows: (typeof bundles.$inferInsert)[] = [];
    for (let j = 0; j < chunk.length; j += SIGNING) {
      rows.push(...await Promise.all(chunk.slice(j, j + SIGNING).map(async (site) => {
        const version = nextVersion(latest.get(site.id));
        const jws = await signBundle(bundlePayload({
          site: site.name, version, now: ctx.now, ttlHours: ctx.ttlHours, keysVersion: ctx.key.keysVersion, release,
        }), ctx.key);
        return { id: ulid(), siteId: site.id, version, releaseId: release.id, jws, issuedAt: ctx.now, expiresAt };
      })));
    }
    await tx.insert(bundles).values(rows);
    for (const r of rows) out.set(r.siteId, r.version);
  }
  return out;
}

/** Signs and stores the next bundle version of one site (see issueBundles); returns the version. */
export async function issueBundle(tx: Queryable, ctx: IssueContext, site: { id: string; name: string }, release: typeof releases.$inferSelect): Promise<number> {
  return (await issueBundles(tx, ctx, [site], release)).get(site.id)!;
}

/** Makes `releaseId` the assigned release of each site (what a renewal re-signs, what a rollback returns to). */
export async function setAssignments(tx: Queryable, siteIds: readonly string[], releaseId: string, now: Date): Promise<void> {
  for (let i = 0; i < siteIds.length; i += CHUNK) {
    await tx.insert(assignments).values(siteIds.slice(i, i + CHUNK).map((siteId) => ({ siteId, releaseId, assignedAt: now })))
      .onConflictDoUpdate({ target: assignments.siteId, set: { releaseId, assignedAt: now } });
  }
}

export async function latestVersion(q: Queryable, siteId: string): Promise<number | null> {
  const [row] = await q.select({ v: max(bundles.version) }).from(bundles).where(eq(bundles.siteId, siteId));
  return row?.v ?? null;
}

/** The newest bundle issued for a site, if any. */
export async function newestBundle(q: Queryable, siteId: string) {
  const [row] = await q.select({ version: bundles.version, jws: bundles.jws }).from(bundles)
    .where(eq(bundles.siteId, siteId)).orderBy(desc(bundles.version)).limit(1);
  return row ?? null;
}
