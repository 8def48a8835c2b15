import { z } from "zod";
import {
  AssignResponse, CreateTokenResponse, OperatorRoutes, ReleaseView, ReportView, SiteView,
  type CreateReleaseRequest,
} from "../protocol/operator.ts";
import {
  RolloutEventView, RolloutRoutes, RolloutSiteView, RolloutView,
  type CreateRolloutRequest, type RolloutAction, type SiteProgressState,
} from "../protocol/rollouts.ts";
import { errorFrom, joinUrl, request } from "./http.ts";

/** The typed operator client the CLI (and tests) use: one method per operator route. */
export class OperatorClient {
  constructor(readonly baseUrl: string, private readonly token: string) {}

  private async call<T>(method: string, path: string, schema: z.ZodType<T>, body?: unknown): Promise<T> {
    const res = await request(joinUrl(this.baseUrl, path), {
      method,
      headers: { authorization: `Bearer ${this.token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!res.ok) throw await errorFrom(res);
    return schema.parse(await res.json());
  }

  createToken(opts: { labels?: Record<string, string>; autoApprove?: boolean; expiresInHours?: number; uses?: number } = {}) {
    return this.call("POST", OperatorRoutes.tokens, CreateTokenResponse, opts);
  }
  listSites() { return this.call("GET", OperatorRoutes.sites, z.object({ sites: z.array(SiteView) })).then((r) => r.sites); }
  getSite(site: string) { return this.call("GET", OperatorRoutes.site(site), SiteView); }
  approveSite(site: string) { return this.call("POST", OperatorRoutes.approve(site), SiteView, {}); }
  labelSite(site: string, set: Record<string, string>, remove: string[] = []) {
    return this.call("PATCH", OperatorRoutes.labels(site), SiteView, { set, remove });
  }
  createRelease(req: CreateReleaseRequest) { return this.call("POST", OperatorRoutes.releases, ReleaseView, req); }
  listReleases() { return this.call("GET", OperatorRoutes.releases, z.object({ releases: z.array(ReleaseView) })).then((r) => r.releases); }
  assign(release: { name: string; version: string }, selector: string, maxSites?: number) {
    return this.call("POST", OperatorRoutes.assignments, AssignResponse, { release, selector, ...(maxSites ? { maxSites } : {}) });
  }
  reports(q: { site?: string; kind?: "status" | "telemetry" | "event"; type?: string; limit?: number } = {}) {
    const qs = new URLSearchParams(Object.entries(q).filter(([, v]) => v !== undefined).map(([k, v]) => [k, String(v)]));
    return this.call("GET", `${OperatorRoutes.reports}?${qs}`, z.object({ reports: z.array(ReportView) })).then((r) => r.reports);
  }

  createRollout(req: CreateRolloutRequest) { return this.call("POST", RolloutRoutes.rollouts, RolloutView, req); }
  listRollouts() { return this.call("GET", RolloutRoutes.rollouts, z.object({ rollouts: z.array(RolloutView) })).then((r) => r.rollouts); }
  getRollout(id: string) { return this.call("GET", RolloutRoutes.rollout(id), RolloutView); }
  /** start, pause, resume, approve (the next wave), abort, rollback. */
  rolloutAction(id: string, action: RolloutAction) { return this.call("POST", RolloutRoutes.action(id, action), RolloutView, {}); }
  rolloutEvents(id: string, q: { after?: number; limit?: number } = {}) {
    const qs = new URLSearchParams(Object.entries(q).filter(([, v]) => v !== undefined).map(([k, v]) => [k, String(v)]));
    return this.call("GET", `${RolloutRoutes.events(id)}?${qs}`, z.object({ events: z.array(RolloutEventView) })).then((r) => r.events);
  }
  rolloutSites(id: string, q: { state?: SiteProgressState; wave?: number } = {}) {
    const qs = new URLSearchParams(Object.entries(q).filter(([, v]) => v !== undefined).map(([k, v]) => [k, String(v)]));
    return this.call("GET", `${RolloutRoutes.sites(id)}?${qs}`, z.object({ sites: z.array(RolloutSiteView) })).then((r) => r.sites);
  }
}
