import { and, eq, isNull, lt, or } from "drizzle-orm";
import type { Hono, MiddlewareHandler } from "hono";
import { ReportsRequest, type ReportItem, type ReportsResponse, type StatusBody } from "@outpost/shared";
import { reports, sites } from "../../db/schema.ts";
import type { HubDeps, HubEnv } from "../deps.ts";
import { readJson } from "../input.ts";

/**
 * POST /agent/v1/reports: at-least-once delivery from the agent's outbox becomes exactly-once
 * storage, because each report's ULID is the primary key and a re-sent one is dropped. Every id is
 * acked (new or duplicate) so the agent can delete it from its outbox. The site comes from the
 * request token, never from the body.
 */
export function registerReports(app: Hono<HubEnv>, deps: HubDeps, auth: MiddlewareHandler<HubEnv>): void {
  app.post("/reports", auth, async (c) => {
    const { reports: items } = await readJson(c, ReportsRequest);
    const site = c.get("site");
    const now = deps.now();
    const storedIds = await deps.hub.transaction(async (tx) => {
      const inserted = await tx.insert(reports).values(items.map((r) => ({
        id: r.id, siteId: site.id, kind: r.kind, at: new Date(r.at), receivedAt: now, body: r.body as Record<string, unknown>,
      }))).onConflictDoNothing().returning({ id: reports.id });
      const ids = new Set(inserted.map((r) => r.id));
      const latest = newestStatus(items.filter((r) => ids.has(r.id)));
      if (latest) {
        const at = new Date(latest.at);
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
    return c.json({ acked, stored: storedIds.size, duplicates: items.length - storedIds.size } satisfies ReportsResponse);
  });
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
