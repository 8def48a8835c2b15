import { and, eq, isNull, lt, or } from "drizzle-orm";
import type { ReportItem, ReportsResponse, StatusBody } from "@outpost/shared";
import type { HubDeps } from "../api/deps.ts";
import { reports, sites } from "../db/schema.ts";

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
  const storedIds = await deps.hub.transaction(async (tx) => {
    const inserted = await tx.insert(reports).values(items.map((r) => ({
      id: r.id, siteId: site.id, kind: r.kind, at: new Date(r.at), receivedAt: now, body: r.body as Record<string, unknown>,
    }))).onConflictDoNothing().returning({ id: reports.id });
    const ids = new Set(inserted.map((r) => r.id));
    const latest = newestStatus(items.filter((r) => ids.has(r.id)));
    if (latest) {
      // A report cannot come from the future: a site whose clock runs ahead would otherwise stamp a
      // status the corrected clock's next ones could not beat for as long as it ran ahead.
      const at = new Date(Math.min(Date.parse(latest.at), now.getTime()));
      const body = latest.body as StatusBody;
      // Only a newer report moves the site's state: reports flushed late from an outbox arrive out of order.
      await tx.update(sites).set({
        state: body.state, stale: body.stale, appliedVersion: body.bundleVersion,
        reportedRelease: body.release ? `${body.release.name}@${body.release.version}` : null, statusAt: at,
      }).where(and(eq(sites.id, site.id), or(isNull(sites.statusAt), lt(sites.statusAt, at))));
    }
    return ids;
  });
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
