import { z } from "zod";
import {
  AccessRoutes, AuditList, errorFrom, HubError, OperatorRoutes, PROJECT_HEADER, ProjectList, ReleaseView, ReportView, RolloutEventView,
  RolloutRoutes, RolloutView, SiteView, WhoAmI, type CreateRolloutRequest, type ProjectView, type RolloutAction,
} from "@outpost/shared";

/** How the dashboard reaches the hub's own HTTP app without a socket (app.ts passes `app.fetch`). */
export type HubFetch = (req: Request, env?: unknown) => Response | Promise<Response>;

/**
 * Where an in-process call goes and what it carries from the browser's request: `env` is that
 * request's server binding (its socket) and `forwardedFor` its X-Forwarded-For, so the API sees
 * the browser's real address exactly as if the browser had called it (audit/forwarded.ts).
 */
export interface InProcess { fetch: HubFetch; origin: string; env?: unknown; forwardedFor?: string }

/**
 * The dashboard's operator API client. Every page calls the REAL /api/v1 routes in-process with
 * the signed-in operator's token and the project picked in the dashboard (X-Outpost-Project), so
 * authentication, project scoping, roles and the audit log are exactly the API's: when those
 * change, the dashboard follows without a line changed here. Failures are the API's own
 * `HubError` (status, code, message).
 */
export class UiApi {
  constructor(private readonly via: InProcess, private readonly token: string, readonly project?: string) {}

  inProject(project: string): UiApi { return new UiApi(this.via, this.token, project); }

  async call<T>(method: string, path: string, schema: z.ZodType<T>, body?: unknown): Promise<T> {
    const res = await this.via.fetch(new Request(this.via.origin + path, {
      method,
      headers: {
        authorization: `Bearer ${this.token}`,
        // Marks where the call came from, for logs and the audit trail; not trusted for anything.
        "user-agent": "outpost-dashboard",
        ...(this.project ? { [PROJECT_HEADER]: this.project } : {}),
        ...(this.via.forwardedFor ? { "x-forwarded-for": this.via.forwardedFor } : {}),
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    }), this.via.env);
    if (!res.ok) throw await errorFrom(res);
    return schema.parse(await res.json());
  }

  whoami() { return this.call("GET", AccessRoutes.whoami, WhoAmI); }
  /** The projects the caller has a role in (every project for a hub admin), with that role. */
  listProjects() { return this.call("GET", AccessRoutes.projects, ProjectList).then((r) => r.projects); }
  listSites() { return this.call("GET", OperatorRoutes.sites, z.object({ sites: z.array(SiteView) })).then((r) => r.sites); }
  getSite(name: string) { return this.call("GET", OperatorRoutes.site(name), SiteView); }
  listReleases() { return this.call("GET", OperatorRoutes.releases, z.object({ releases: z.array(ReleaseView) })).then((r) => r.releases); }
  reports(q: { site?: string; kind?: "status" | "telemetry" | "event"; limit?: number }) {
    const qs = new URLSearchParams(Object.entries(q).filter(([, v]) => v !== undefined).map(([k, v]) => [k, String(v)]));
    return this.call("GET", `${OperatorRoutes.reports}?${qs}`, z.object({ reports: z.array(ReportView) })).then((r) => r.reports);
  }
  audit(q: { actor?: string; before?: number; limit: number }) {
    const qs = new URLSearchParams(Object.entries(q).filter(([, v]) => v !== undefined && v !== "").map(([k, v]) => [k, String(v)]));
    return this.call("GET", `${AccessRoutes.audit}?${qs}`, AuditList).then((r) => r.entries);
  }
  listRollouts() { return this.call("GET", RolloutRoutes.rollouts, z.object({ rollouts: z.array(RolloutView) })).then((r) => r.rollouts); }
  getRollout(id: string) { return this.call("GET", RolloutRoutes.rollout(id), RolloutView); }
  createRollout(req: CreateRolloutRequest) { return this.call("POST", RolloutRoutes.rollouts, RolloutView, req); }
  rolloutAction(id: string, action: RolloutAction) { return this.call("POST", RolloutRoutes.action(id, action), RolloutView, {}); }
  rolloutEvents(id: string, after = 0, limit = 1000) {
    return this.call("GET", `${RolloutRoutes.events(id)}?after=${after}&limit=${limit}`, z.object({ events: z.array(RolloutEventView) })).then((r) => r.events);
  }
}

/** Who a token is and the projects it may act in: what the dashboard's sign-in and /metrics check. */
export interface Admitted { actor: string; hubAdmin: boolean; projects: ProjectView[] }

/**
 * Asks the API who `token` is and which projects it opens. A refusal is the API's HubError
 * (401 / 403) to show; a caller with a role in no project is refused too, since there is nothing
 * they could see. Anything else is thrown on.
 */
export async function admit(via: InProcess, token: string): Promise<Admitted | HubError> {
  try {
    const api = new UiApi(via, token);
    const [who, projects] = await Promise.all([api.whoami(), api.listProjects()]);
    if (!projects.length) return new HubError(403, "NO_ROLE", `${who.actor} has no role in any project: ask an admin for one`);
    return { actor: who.actor, hubAdmin: who.hubAdmin, projects };
  } catch (e) {
    if (e instanceof HubError && (e.status === 401 || e.status === 403)) return e;
    throw e;
  }
}
