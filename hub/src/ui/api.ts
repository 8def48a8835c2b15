import { z } from "zod";
import {
  errorFrom, HubError, OperatorRoutes, ReleaseView, ReportView, RolloutEventView, RolloutRoutes, RolloutView, SiteView,
  type CreateRolloutRequest, type RolloutAction,
} from "@outpost/shared";

/** How the dashboard reaches the hub's own HTTP app without a socket (app.ts passes `app.fetch`). */
export type HubFetch = (req: Request, env?: unknown) => Response | Promise<Response>;

/**
 * The dashboard's operator API client. Every page calls the REAL /api/v1 routes in-process with
 * the signed-in operator's token, so authentication, project scoping, roles and the audit log are
 * exactly the API's: when those change, the dashboard follows without a line changed here.
 * Failures are the API's own `HubError` (status, code, message).
 */
export class UiApi {
  /** `env` is the browser request's server binding, passed on so the API sees the real peer address. */
  constructor(private readonly fetch: HubFetch, private readonly origin: string, private readonly token: string, private readonly env?: unknown) {}

  async call<T>(method: string, path: string, schema: z.ZodType<T>, body?: unknown): Promise<T> {
    const res = await this.fetch(new Request(this.origin + path, {
      method,
      headers: {
        authorization: `Bearer ${this.token}`,
        // Marks where the call came from, for logs and the audit trail; not trusted for anything.
        "user-agent": "outpost-dashboard",
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    }), this.env);
    if (!res.ok) throw await errorFrom(res);
    return schema.parse(await res.json());
  }

  listSites() { return this.call("GET", OperatorRoutes.sites, z.object({ sites: z.array(SiteView) })).then((r) => r.sites); }
  getSite(name: string) { return this.call("GET", OperatorRoutes.site(name), SiteView); }
  listReleases() { return this.call("GET", OperatorRoutes.releases, z.object({ releases: z.array(ReleaseView) })).then((r) => r.releases); }
  reports(q: { site?: string; kind?: "status" | "telemetry" | "event"; limit?: number }) {
    const qs = new URLSearchParams(Object.entries(q).filter(([, v]) => v !== undefined).map(([k, v]) => [k, String(v)]));
    return this.call("GET", `${OperatorRoutes.reports}?${qs}`, z.object({ reports: z.array(ReportView) })).then((r) => r.reports);
  }
  listRollouts() { return this.call("GET", RolloutRoutes.rollouts, z.object({ rollouts: z.array(RolloutView) })).then((r) => r.rollouts); }
  getRollout(id: string) { return this.call("GET", RolloutRoutes.rollout(id), RolloutView); }
  createRollout(req: CreateRolloutRequest) { return this.call("POST", RolloutRoutes.rollouts, RolloutView, req); }
  rolloutAction(id: string, action: RolloutAction) { return this.call("POST", RolloutRoutes.action(id, action), RolloutView, {}); }
  rolloutEvents(id: string, after = 0, limit = 1000) {
    return this.call("GET", `${RolloutRoutes.events(id)}?after=${after}&limit=${limit}`, z.object({ events: z.array(RolloutEventView) })).then((r) => r.events);
  }
}

/**
 * Whether the operator API accepts `token`: the cheapest read any operator role may make. The
 * API, not the caller, decides; a refusal is its HubError (401 / 403), anything else is thrown on.
 */
export async function operatorTokenAccepted(fetch: HubFetch, origin: string, token: string, env?: unknown): Promise<true | HubError> {
  try {
    await new UiApi(fetch, origin, token, env).reports({ limit: 1 });
    return true;
  } catch (e) {
    if (e instanceof HubError && (e.status === 401 || e.status === 403)) return e;
    throw e;
  }
}
