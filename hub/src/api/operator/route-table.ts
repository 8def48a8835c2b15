import { z } from "zod";
import {
  ApiTokenList, ApiTokenView, Artifact, AssignRequest, AssignResponse, AuditList, AuditQuery, CreateApiTokenRequest,
  CreateProjectRequest, CreateReleaseRequest, CreateRolloutRequest, CreateTokenRequest, CreateUserRequest, CreateUserResponse,
  CreatedApiToken, GrantRequest, LabelPatch, Name, ProjectList, ProjectView, ROLLOUT_ACTIONS, ReleaseView, ReportView,
  ReportsQuery, RolloutActionRequest, RolloutEventView, RolloutEventsQuery, RolloutSiteView, RolloutSitesQuery, RolloutView,
  Sha256Hex, SiteName, SiteView, StoredArtifactView, UserList, UserName, UserView, WhoAmI, CreateTokenResponse,
  Role, ReportsFile, ReportsImportResponse, SiteBundleResponse, EnrollmentTokenId, EnrollmentTokenList, EnrollmentTokenView,
} from "@outpost/shared";

/**
 * Every operator route, declared once: the guard that authorizes it (guard.ts), the OpenAPI
 * document (src/openapi) and the permission-matrix test are all built from this table, and the
 * operator app refuses to start if a handler has no entry here (or an entry no handler).
 *
 * `need` says who may call it:
 * - `{ role }`: that role or higher in the request's project (X-Outpost-Project, default `default`);
 * - `hub-admin`: admin on every project (the first start's admin user, or OIDC `*:admin`);
 * - `caller`: anyone authenticated, acting on their own things (their tokens, which projects they see).
 */
export type Need = { role: Role } | "hub-admin" | "caller";
export type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

export interface OperatorRoute {
  method: Method;
  /** Relative to /api/v1, in Hono's syntax (`/sites/:site`). */
  path: string;
  need: Need;
  summary: string;
  params?: Record<string, z.ZodType>;
  query?: z.ZodObject;
  /** A JSON body schema, or raw bytes (artifact upload). */
  body?: z.ZodType | "octet-stream";
  /** A valid body: shown in the API reference, and what the permission matrix sends, so its 4xx is about permission. */
  example?: unknown;
  /** Valid query parameters, where some are required. */
  exampleQuery?: Record<string, string>;
  status: 200 | 201;
  response: z.ZodType;
}

/** A ULID, as the hub hands them out for rollouts and API tokens. */
export const Ulid = z.string().regex(/^[0-9A-HJKMNP-TV-Z]{26}$/, "must be an id as the hub printed it (a 26-character ULID)");
/** Approving or revoking a site takes no options: `{}`. */
export const EmptyBody = z.strictObject({});
export const UploadQuery = z.strictObject({
  name: Name,
  /** The digest the operator computed: bytes that hash otherwise are refused and not kept. */
  expectedSha256: Sha256Hex.optional(),
});

const list = <K extends string>(key: K, item: z.ZodType) => z.object({ [key]: z.array(item) } as Record<K, z.ZodArray<z.ZodType>>);
const viewer = { role: "viewer" } as const;
const operator = { role: "operator" } as const;
const admin = { role: "admin" } as const;
const site = { site: SiteName };
const rollout = { id: Ulid };
const exampleRelease = { name: "web", version: "1.0.0" };

export const OPERATOR_ROUTES: readonly OperatorRoute[] = [
  // Who am I, and which projects
  { method: "GET", path: "/whoami", need: "caller", summary: "The caller: actor name, how they signed in, role per project", status: 200, response: WhoAmI },
  { method: "GET", path: "/projects", need: "caller", summary: "Projects the caller has a role in (every project for a hub admin)", status: 200, response: ProjectList },
  { method: "POST", path: "/projects", need: "hub-admin", summary: "Create a project (tenant)", body: CreateProjectRequest, example: { name: "eu" }, status: 201, response: ProjectView },

  // Users and their roles in the request's project
  { method: "GET", path: "/users", need: admin, summary: "Users with a role in the project", status: 200, response: UserList },
  { method: "POST", path: "/users", need: admin, summary: "Create a user with a role in the project; answers their first API token, once", body: CreateUserRequest, example: { name: "alice", role: "operator" }, status: 201, response: CreateUserResponse },
  { method: "PUT", path: "/users/:user/role", need: admin, summary: "Give an existing user a role in the project (replaces their role here)", params: { user: UserName }, body: GrantRequest, example: { role: "operator" }, status: 200, response: UserView },
  { method: "DELETE", path: "/users/:user/role", need: admin, summary: "Take a user's role in the project away", params: { user: UserName }, status: 200, response: z.object({ user: z.string(), removed: Role }) },

  // The caller's own API tokens
  { method: "GET", path: "/api-tokens", need: "caller", summary: "The caller's API tokens (never the secrets)", status: 200, response: ApiTokenList },
  { method: "POST", path: "/api-tokens", need: "caller", summary: "A new API token for the caller, shown once (only its sha256 is stored)", body: CreateApiTokenRequest, example: { name: "ci", expiresInDays: 30 }, status: 201, response: CreatedApiToken },
  { method: "DELETE", path: "/api-tokens/:id", need: "caller", summary: "Revoke one of the caller's API tokens", params: { id: Ulid }, status: 200, response: ApiTokenView },

  { method: "GET", path: "/audit", need: admin, summary: "The project's audit log, newest first (hub admins also see hub-wide entries)", query: AuditQuery, status: 200, response: AuditList },

  // Fleet
  { method: "POST", path: "/tokens", need: admin, summary: "An enrollment token new sites join the project with, shown once", body: CreateTokenRequest, example: { uses: 1, expiresInHours: 24 }, status: 201, response: CreateTokenResponse },
  { method: "GET", path: "/sites", need: viewer, summary: "The project's sites with state and bundle", status: 200, response: list("sites", SiteView) },
  { method: "GET", path: "/sites/:site", need: viewer, summary: "One site", params: site, status: 200, response: SiteView },
  { method: "GET", path: "/tokens", need: admin, summary: "The project's enrollment tokens (never their secrets), newest first", status: 200, response: EnrollmentTokenList },
  { method: "DELETE", path: "/tokens/:id", need: admin, summary: "Revoke an enrollment token: no new site can enroll with it", params: { id: EnrollmentTokenId }, status: 200, response: EnrollmentTokenView },
  { method: "POST", path: "/sites/:site/approve", need: admin, summary: "Trust a pending site's key: it may fetch bundles", params: site, body: EmptyBody, example: {}, status: 200, response: SiteView },
  { method: "POST", path: "/sites/:site/revoke", need: admin, summary: "Stop trusting a site's key (lost or compromised): its bundle fetches, reports and broker logins are refused from now on; the name stays taken", params: site, body: EmptyBody, example: {}, status: 200, response: SiteView },
  { method: "PATCH", path: "/sites/:site/labels", need: operator, summary: "Set (set) and remove (remove) a site's labels", params: site, body: LabelPatch, example: { set: { tier: "canary" }, remove: [] }, status: 200, response: SiteView },
  { method: "POST", path: "/releases", need: operator, summary: "Create an immutable release name@version", body: CreateReleaseRequest, example: { name: "web", version: "1.0.1", spec: {} }, status: 201, response: ReleaseView },
  { method: "GET", path: "/releases", need: viewer, summary: "Releases, newest first", status: 200, response: list("releases", ReleaseView) },
  { method: "POST", path: "/assignments", need: operator, summary: "Give every approved site the selector matches a signed bundle of a release", body: AssignRequest, example: { release: exampleRelease, selector: "tier=none" }, status: 201, response: AssignResponse },
  { method: "GET", path: "/reports", need: viewer, summary: "Reports from the project's sites, newest first", query: ReportsQuery, status: 200, response: list("reports", ReportView) },
  { method: "POST", path: "/artifacts", need: operator, summary: "Upload an artifact's bytes (application/octet-stream); 201 new, 200 already stored", query: UploadQuery, exampleQuery: { name: "blob" }, body: "octet-stream", status: 201, response: Artifact },
  { method: "GET", path: "/artifacts", need: viewer, summary: "Stored artifacts (the store is shared by every project)", status: 200, response: list("artifacts", StoredArtifactView) },

  // Air-gapped sites (hub/src/airgap): a signed bundle carried by hand, reports carried back
  { method: "GET", path: "/sites/:site/bundle", need: operator, summary: "The site's newest signed bundle, as its agent would fetch it (outpost bundle export)", params: site, status: 200, response: SiteBundleResponse },
  { method: "GET", path: "/artifacts/:sha256", need: operator, summary: "An artifact's bytes (application/octet-stream), to carry to an air-gapped site", params: { sha256: Sha256Hex }, status: 200, response: z.unknown() },
  { method: "POST", path: "/reports/import", need: operator, summary: "Store a site's signed reports file (outpost agent export-reports); each report once, however often imported", body: ReportsFile, example: { format: "outpost-reports/v1", site: "no-such-site", count: 1, jws: "e30.e30.e30" }, status: 200, response: ReportsImportResponse },

  // Rollouts
  { method: "POST", path: "/rollouts", need: operator, summary: "Create a rollout of a release to the sites a selector matches, in waves", body: CreateRolloutRequest, example: { release: exampleRelease, selector: "", strategy: { waves: [1, "100%"] } }, status: 201, response: RolloutView },
  { method: "GET", path: "/rollouts", need: viewer, summary: "The project's rollouts with progress", status: 200, response: list("rollouts", RolloutView) },
  { method: "GET", path: "/rollouts/:id", need: viewer, summary: "One rollout: progress per wave, ETA, what it waits for", params: rollout, status: 200, response: RolloutView },
  { method: "GET", path: "/rollouts/:id/events", need: viewer, summary: "A rollout's history", params: rollout, query: RolloutEventsQuery, status: 200, response: list("events", RolloutEventView) },
  { method: "GET", path: "/rollouts/:id/sites", need: viewer, summary: "A rollout's sites, their wave and state", params: rollout, query: RolloutSitesQuery, status: 200, response: list("sites", RolloutSiteView) },
  ...ROLLOUT_ACTIONS.map((action): OperatorRoute => ({
    method: "POST", path: `/rollouts/:id/${action}`, need: operator, summary: `Rollout action: ${action}`,
    params: rollout, body: RolloutActionRequest, example: {}, status: 200, response: RolloutView,
  })),
];

export const routeKey = (method: string, path: string): string => `${method} ${path}`;
export const describeNeed = (n: Need): string => (n === "caller" ? "any signed-in caller" : n === "hub-admin" ? "hub admin" : `${n.role} in the project`);
