import { z } from "zod";
import { Artifact } from "../bundle/spec.ts";
import {
  AssignResponse, CreateTokenResponse, EnrollmentTokenList, EnrollmentTokenView, OperatorRoutes, ReleaseView, ReportView, SiteView,
  type CreateReleaseRequest,
} from "../protocol/operator.ts";
import {
  RolloutEventView, RolloutRoutes, RolloutSiteView, RolloutView,
  type CreateRolloutRequest, type RolloutAction, type SiteProgressState,
} from "../protocol/rollouts.ts";
import {
  AccessRoutes, ApiTokenList, ApiTokenView, AuditList, CreateUserResponse, CreatedApiToken, PROJECT_HEADER, ProjectList,
  ProjectView, UserList, UserView, WhoAmI, type Role,
} from "../protocol/access.ts";
import { errorFrom, joinUrl, request } from "./http.ts";

export interface OperatorClientOptions {
  /** Sent as X-Outpost-Project on every call; the hub uses `default` when absent. */
  project?: string;
}

/** Where operators upload and list out-of-band artifacts (the hub streams them to its store). */
export const ARTIFACTS_ROUTE = "/api/v1/artifacts";
export const StoredArtifactView = z.object({
  sha256: z.string(), size: z.number().int(), url: z.string(), names: z.array(z.string()), createdAt: z.string(),
});
export type StoredArtifactView = z.output<typeof StoredArtifactView>;
export type ArtifactBody = Uint8Array | ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>;

/** The typed operator client the CLI (and tests) use: one method per operator route. */
export class OperatorClient {
  constructor(readonly baseUrl: string, private readonly token: string, readonly options: OperatorClientOptions = {}) {}

  /** The same caller, acting in another project. */
  inProject(project: string): OperatorClient { return new OperatorClient(this.baseUrl, this.token, { ...this.options, project }); }

  private headers(): Record<string, string> {
    return { authorization: `Bearer ${this.token}`, ...(this.options.project ? { [PROJECT_HEADER]: this.options.project } : {}) };
  }

  private async call<T>(method: string, path: string, schema: z.ZodType<T>, body?: unknown): Promise<T> {
    const res = await request(joinUrl(this.baseUrl, path), {
      method,
      headers: { ...this.headers(), ...(body === undefined ? {} : { "content-type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!res.ok) throw await errorFrom(res);
    return schema.parse(await res.json());
  }

  createToken(opts: { labels?: Record<string, string>; autoApprove?: boolean; expiresInHours?: number; uses?: number } = {}) {
    return this.call("POST", OperatorRoutes.tokens, CreateTokenResponse, opts);
  }
  /** The project's enrollment tokens, without their secrets. */
  listEnrollmentTokens() { return this.call("GET", OperatorRoutes.tokens, EnrollmentTokenList).then((r) => r.tokens); }
  revokeEnrollmentToken(id: string) { return this.call("DELETE", OperatorRoutes.token(id), EnrollmentTokenView); }
  listSites() { return this.call("GET", OperatorRoutes.sites, z.object({ sites: z.array(SiteView) })).then((r) => r.sites); }
  getSite(site: string) { return this.call("GET", OperatorRoutes.site(site), SiteView); }
  approveSite(site: string) { return this.call("POST", OperatorRoutes.approve(site), SiteView, {}); }
  /** Stops trusting the site's key: its agent calls and broker logins are refused from now on. */
  revokeSite(site: string) { return this.call("POST", OperatorRoutes.revoke(site), SiteView, {}); }
  labelSite(site: string, set: Record<string, string>, remove: string[] = []) {
    return this.call("PATCH", OperatorRoutes.labels(site), SiteView, { set, remove });
  }
  createRelease(req: CreateReleaseRequest) { return this.call("POST", OperatorRoutes.releases, ReleaseView, req); }
  listReleases() { return this.call("GET", OperatorRoutes.releases, z.object({ releases: z.array(ReleaseView) })).then((r) => r.releases); }
  assign(release: { name: string; version: string }, selector: string, maxSites?: number) {
    return this.call("POST", OperatorRoutes.assignments, AssignResponse, { release, selector, ...(maxSites ? { maxSites } : {}) });
  }
  /**
   * Streams an artifact's bytes to the hub; answers the `{name, sha256, size, url}` to put in a
   * release's artifacts[]. `size` (when the body is a stream) lets the hub refuse an oversized upload
   * before a byte is sent; `expectedSha256` makes the hub refuse (and drop) bytes that hash otherwise.
   */
  async uploadArtifact(name: string, body: ArtifactBody, size?: number, opts: { expectedSha256?: string; signal?: AbortSignal } = {}): Promise<Artifact> {
    const qs = new URLSearchParams({ name, ...(opts.expectedSha256 ? { expectedSha256: opts.expectedSha256 } : {}) });
    const length = body instanceof Uint8Array ? body.byteLength : size;
    const res = await request(joinUrl(this.baseUrl, `${ARTIFACTS_ROUTE}?${qs}`), {
      method: "POST",
      headers: {
        ...this.headers(), "content-type": "application/octet-stream",
        ...(length === undefined ? {} : { "content-length": String(length) }),
      },
      body: body instanceof Uint8Array || body instanceof ReadableStream ? body : streamOf(body),
      signal: opts.signal,
      duplex: "half", // a streamed request body; Node's fetch requires saying so
    } as RequestInit);
    if (!res.ok) throw await errorFrom(res);
    return Artifact.parse(await res.json());
  }
  listArtifacts() { return this.call("GET", ARTIFACTS_ROUTE, z.object({ artifacts: z.array(StoredArtifactView) })).then((r) => r.artifacts); }
  reports(q: { site?: string; kind?: "status" | "telemetry" | "event"; type?: string; limit?: number } = {}) {
    const qs = new URLSearchParams(Object.entries(q).filter(([, v]) => v !== undefined).map(([k, v]) => [k, String(v)]));
    return this.call("GET", `${OperatorRoutes.reports}?${qs}`, z.object({ reports: z.array(ReportView) })).then((r) => r.reports);
  }

  // Operators (projects, users, API tokens, audit): see protocol/access.ts.
  whoami() { return this.call("GET", AccessRoutes.whoami, WhoAmI); }
  listProjects() { return this.call("GET", AccessRoutes.projects, ProjectList).then((r) => r.projects); }
  createProject(name: string) { return this.call("POST", AccessRoutes.projects, ProjectView, { name }); }
  listUsers() { return this.call("GET", AccessRoutes.users, UserList).then((r) => r.users); }
  /** Creates the user with a role in this client's project; the answer carries their first API token, once. */
  createUser(name: string, role: Role, opts: { tokenExpiresInDays?: number } = {}) {
    return this.call("POST", AccessRoutes.users, CreateUserResponse, { name, role, ...opts });
  }
  grantRole(user: string, role: Role) { return this.call("PUT", AccessRoutes.userRole(user), UserView, { role }); }
  revokeRole(user: string) { return this.call("DELETE", AccessRoutes.userRole(user), z.object({ user: z.string(), removed: z.string() })); }
  createApiToken(name: string, expiresInDays?: number) {
    return this.call("POST", AccessRoutes.apiTokens, CreatedApiToken, { name, ...(expiresInDays ? { expiresInDays } : {}) });
  }
  listApiTokens() { return this.call("GET", AccessRoutes.apiTokens, ApiTokenList).then((r) => r.tokens); }
  revokeApiToken(id: string) { return this.call("DELETE", AccessRoutes.apiToken(id), ApiTokenView); }
  audit(q: { actor?: string; before?: number; limit?: number } = {}) {
    const qs = new URLSearchParams(Object.entries(q).filter(([, v]) => v !== undefined).map(([k, v]) => [k, String(v)]));
    return this.call("GET", `${AccessRoutes.audit}?${qs}`, AuditList).then((r) => r.entries);
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

function streamOf(it: AsyncIterable<Uint8Array>): ReadableStream<Uint8Array> {
  const iter = it[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>({
    async pull(ctl) {
      const next = await iter.next();
      if (next.done) ctl.close(); else ctl.enqueue(next.value);
    },
    async cancel(reason) { await iter.return?.(reason); },
  });
}
