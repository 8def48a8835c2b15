import { and, inArray, max } from "drizzle-orm";
import type { MiddlewareHandler } from "hono";
import type { SiteView } from "@outpost/shared";
import { routePath } from "hono/route";
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { AgentRoutes } from "@outpost/shared";
import type { HubDb } from "../db/client.ts";
import { toSiteView } from "../api/operator/site-view.ts";
import { bundles, rollouts, sites } from "../db/schema.ts";
import { rolloutView } from "../rollouts/store.ts";
import { countByState, FLEET_STATES } from "../ui/fleet-state.ts";

/**
 * The hub's Prometheus metrics, one registry per hub app (tests run many apps in one process).
 * Fleet and rollout gauges are computed from the database at each scrape, for the projects the
 * scraper may see, with the same functions the API uses, so they are right on every replica;
 * counters and histograms are this process's.
 */
export class HubMetrics {
  readonly registry = new Registry();
  readonly bundleFetches: Counter<"status">;
  readonly reportLag: Histogram;
  readonly httpDuration: Histogram<"method" | "route" | "status">;

  constructor(private readonly deps: { hub: HubDb; now: () => Date }) {
    const registers = [this.registry];
    this.bundleFetches = new Counter({
      name: "outpost_bundle_fetches_total", help: "Agent bundle requests by answer: 200 a bundle, 204 nothing new, 304 not modified.",
      labelNames: ["status"], registers,
    });
    this.reportLag = new Histogram({
      name: "outpost_report_lag_seconds", help: "Time from an agent making a report to the hub storing it (outbox delay while offline included).",
      buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 3600, 6 * 3600, 86_400], registers,
    });
    this.httpDuration = new Histogram({
      name: "outpost_http_request_duration_seconds", help: "HTTP request latency by route pattern and status (long-polls included).",
      labelNames: ["method", "route", "status"], buckets: [0.005, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 30, 60], registers,
    });
  }

  /**
   * The text exposition for a scrape by a caller who may see `projects` (the API's answer for
   * their token): the fleet and rollout gauges of those projects only, so nothing crosses
   * projects, then this process's counters and histograms (hub-wide, without tenant data).
   */
  async exposition(projects: ReadonlySet<string>): Promise<string> {
    const { hub, now } = this.deps;
    const scoped = new Registry();
    new Gauge({
      name: "outpost_sites", help: "Sites by project and state (in-sync, applying, failed, offline, pending, revoked), as the dashboard counts them.",
      labelNames: ["project", "state"], registers: [scoped],
      async collect() {
        for (const [project, views] of await sitesByProject(hub, projects)) {
          const counts = countByState(views, now());
          for (const s of FLEET_STATES) this.set({ project, state: s }, counts[s]);
        }
      },
    });
    new Gauge({
      name: "outpost_rollout_sites", help: "Sites of each running or paused rollout by progress state.",
      labelNames: ["project", "rollout", "release", "state"], registers: [scoped],
      async collect() {
        const at = now();
        for (const { id, project } of await activeRollouts(hub, projects)) {
          const v = await rolloutView(hub.db, id, at);
          if (!v) continue;
          const labels = { project, rollout: v.id, release: `${v.release.name}@${v.release.version}` };
          const { pending, inProgress, succeeded, failed, timedOut } = v.sites;
          for (const [state, n] of Object.entries({ pending, "in-progress": inProgress, succeeded, failed, "timed-out": timedOut })) this.set({ ...labels, state }, n);
        }
      },
    });
    return Registry.merge([scoped, this.registry]).metrics();
  }

  get contentType(): string { return this.registry.contentType; }

  /** Times every request; labels by the matched route pattern, never the raw path (bounded cardinality). */
  middleware(): MiddlewareHandler {
    return async (c, next) => {
      const started = performance.now();
      await next();
      const status = c.res.status;
      const pattern = routePath(c);
      const route = !pattern || pattern.includes("*") ? "unmatched" : pattern;
      this.httpDuration.observe({ method: c.req.method, route, status: String(status) }, (performance.now() - started) / 1000);
      if (c.req.method === "GET" && c.req.path === AgentRoutes.bundle) this.bundleFetches.inc({ status: String(status) });
    };
  }

  /** Called once per stored (new, not re-sent) report batch. */
  observeReports(ats: readonly string[], receivedAt: Date): void {
    for (const at of ats) this.reportLag.observe(Math.max(0, (receivedAt.getTime() - Date.parse(at)) / 1000));
  }
}

/** Running and paused rollouts of the given projects (a project's id is its name). */
async function activeRollouts(hub: HubDb, projects: ReadonlySet<string>): Promise<{ id: string; project: string }[]> {
  if (!projects.size) return [];
  return hub.db.select({ id: rollouts.id, project: rollouts.projectId }).from(rollouts)
    .where(and(inArray(rollouts.status, ["running", "paused"]), inArray(rollouts.projectId, [...projects]))).orderBy(rollouts.createdAt);
}

/** Every site of the given projects as the API shows one (toSiteView), in two queries whatever the fleet size. */
async function sitesByProject(hub: HubDb, projects: ReadonlySet<string>): Promise<Map<string, SiteView[]>> {
  if (!projects.size) return new Map();
  const rows = await hub.db.select().from(sites).where(inArray(sites.projectId, [...projects]));
  const versions = await hub.db.select({ siteId: bundles.siteId, v: max(bundles.version) }).from(bundles).groupBy(bundles.siteId);
  const bySite = new Map(versions.map((r) => [r.siteId, r.v]));
  const out = new Map<string, SiteView[]>();
  for (const r of rows) {
    const list = out.get(r.projectId) ?? [];
    list.push(toSiteView(r, bySite.get(r.id) ?? null));
    out.set(r.projectId, list);
  }
  return out;
}
