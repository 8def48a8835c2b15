import { and, desc, eq, sql, type SQL } from "drizzle-orm";
import type { Hono } from "hono";
import { ReportsQuery, type ReportView } from "@outpost/shared";
import { reports, sites } from "../../db/schema.ts";
import type { HubDeps, HubEnv } from "../deps.ts";
import { readQuery } from "../input.ts";

/** GET /api/v1/reports?site=&kind=&type=&limit=: newest first; `type` filters events by body.type. */
export function registerReports(app: Hono<HubEnv>, deps: HubDeps): void {
  app.get("/reports", async (c) => {
    const q = readQuery(c, ReportsQuery);
    const where: SQL[] = [eq(sites.projectId, c.get("project").id)];
    if (q.site) where.push(eq(sites.name, q.site));
    if (q.kind) where.push(eq(reports.kind, q.kind));
    if (q.type) where.push(sql`json_extract(${reports.body}, '$.type') = ${q.type}`);
    const rows = await deps.hub.db
      .select({ id: reports.id, site: sites.name, kind: reports.kind, at: reports.at, receivedAt: reports.receivedAt, body: reports.body })
      .from(reports).innerJoin(sites, eq(reports.siteId, sites.id))
      .where(and(...where)).orderBy(desc(reports.at), desc(reports.id)).limit(q.limit);
    const out: ReportView[] = rows.map((r) => ({ ...r, at: r.at.toISOString(), receivedAt: r.receivedAt.toISOString() }));
    return c.json({ reports: out });
  });
}
