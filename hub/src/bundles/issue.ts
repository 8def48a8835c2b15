import { and, desc, eq, max } from "drizzle-orm";
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
    const out: { site: string; version: number }[] = [];
    for (const site of matched) {
      const version = await issueBundle(tx, { key, now, ttlHours: deps.bundleTtlHours }, site, release);
      await tx.insert(assignments).values({ siteId: site.id, releaseId: release.id, assignedAt: now })
        .onConflictDoUpdate({ target: assignments.siteId, set: { releaseId: release.id, assignedAt: now } });
      out.push({ site: site.name, version });
    }
    return out;
  });
  for (const a of assigned) deps.notifier.publish(a.site, a.version);
  return { release: { name: input.release.name, version: input.release.version }, assigned };
}

/**
 * Signs and stores the next bundle version of one site for a release; returns the version.
 * Run inside the caller's transaction, so the version read and the insert cannot interleave.
 */
export async function issueBundle(
  tx: Queryable,
  ctx: { key: ActiveBundleKey; now: Date; ttlHours: number },
  site: { id: string; name: string },
  release: typeof releases.$inferSelect,
): Promise<number> {
  const version = nextVersion(await latestVersion(tx, site.id));
  const jws = await signBundle(bundlePayload({
    site: site.name, version, now: ctx.now, ttlHours: ctx.ttlHours, keysVersion: ctx.key.keysVersion, release,
  }), ctx.key);
  const expiresAt = new Date(ctx.now.getTime() + ctx.ttlHours * 3600_000);
  await tx.insert(bundles).values({ id: ulid(), siteId: site.id, version, releaseId: release.id, jws, issuedAt: ctx.now, expiresAt });
  return version;
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
