import { and, eq, isNull, lt, or } from "drizzle-orm";
import type { ReportItem, ReportsResponse, StatusBody } from "@outpost/shared";
import type { HubDeps } from "../api/deps.ts";
import type { HubDb } from "../db/client.ts";
import { perKey } from "../db/group-commit.ts";
import { reports, sites } from "../db/schema.ts";

/** Rows per INSERT: 6 parameters each, well under SQLite's bound-parameter limit. */
const CHUNK = 400;

interface Batch { siteId: string; items: ReportItem[]; now: Date }

/**
 * Every site's reports go through one group commit (db/group-commit.ts): a fleet reporting at
 * once (a wave applied, the uplink back) costs one transaction per batch instead of one per
 * request. Returns, per batch, the ids newly stored.
 */
const store = perKey((hub: HubDb) => async (batches: Batch[]): Promise<Set<string>[]> => hub.transaction(async (tx) => {
  const inserted = new Set<string>();
  const rows = batches.flatMap((b) => b.items.map((r) => ({
    id: r.id, siteId: b.siteId, kind: r.kind, at: new Date(r.at), receivedAt: b.now, body: r.body as Record<string, unknown>,
  })));
  for (let i = 0; i < rows.length; i += CHUNK) {
    for (const r of await tx.insert(reports).values(rows.slice(i, i + CHUNK)).onConflictDoNothing().returning({ id: reports.id })) inserted.add(r.id);
  }
  const out: Set<string>[] = [];
  for (const b of batches) {
    // An id sent twice in one batch was stored once: it counts for the first request that carried it.
    const ids = new Set(b.items.filter((r) => inserted.delete(r.id)).map((r) => r.id));
    out.push(ids);
    const latest = newestStatus(b.items.filter((r) => ids.has(r.id)));
    if (!latest) continue;
    // A report cannot come from the future: a site whose clock runs ahead would otherwise stamp a
    // status the corrected clock's next ones could not beat for as long as it ran ahead.
    const at = new Date(Math.min(Date.parse(latest.at), b.now.getTime()));
    const body = latest.body as StatusBody;
    // Only a newer report moves the site's state: reports flushed late from an outbox arrive out of order.
    await tx.update(sites).set({
      state: body.state, stale: body.stale, appliedVersion: body.bundleVersion,
      reportedRelease: body.release ? `${body.release.name}@${body.release.version}` : null, statusAt: at,
    }).where(and(eq(sites.id, b.siteId), or(isNull(sites.statusAt), lt(sites.statusAt, at))));
  }
  return out;
}));

/**
 * Stores a batch of a site's reports, whatever transport brought them (POST /agent/v1/reports or the
 * site's MQTT reports topic): each report's ULID is the primary key and a re-sent one is dropped, so
 * at-least-once delivery becomes exactly-once storage. Every id is acked (new or duplicate) so the
 * agent can delete it from its outbox.
 */
export async function ingestReports(
  deps: Pick<HubDeps, "hub" | "now" | "metrics">, site: { id: string }, items: ReportItem[],
): Promise<ReportsResponse> {
  const now = deps.now();
  const storedIds = await store(deps.hub).submit({ siteId: site.id, items, now });
  deps.metrics?.observeReports(items.filter((r) => storedIds.has(r.id)).map((r) => r.at), now); // report lag
  const acked = [...new Set(items.map((r) => r.id))];
  return { acked, stored: storedIds.size, duplicates: items.length - storedIds.size };
}

/** The status report with the latest `at` (ties: the later ULID). */
export function newestStatus(items: ReportItem[]): ReportItem | undefined {
  let best: ReportItem | undefined;
  for (const r of items) {
    if (r.kind !== "status") continue;
    if (!best || Date.parse(r.at) > Date.parse(best.at) || (Date.parse(r.at) === Date.parse(best.at) && r.id > best.id)) best = r;
  }
  return best;
}
