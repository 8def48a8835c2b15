import { z } from "zod";

/**
 * Operators (DESIGN §6): projects, users with a role per project, their API tokens, and the audit
 * log. Every project-scoped operator call names its project in the `X-Outpost-Project` header
 * (`default` when absent); hub-wide calls (projects, your own API tokens) ignore it.
 */
export const PROJECT_HEADER = "x-outpost-project";
export const DEFAULT_PROJECT_NAME = "default";

export const AccessRoutes = {
  projects: "/api/v1/projects",
  users: "/api/v1/users",
  userRole: (u: string) => `/api/v1/users/${encodeURIComponent(u)}/role`,
  apiTokens: "/api/v1/api-tokens",
  apiToken: (id: string) => `/api/v1/api-tokens/${encodeURIComponent(id)}`,
  audit: "/api/v1/audit",
  whoami: "/api/v1/whoami",
} as const;

/** viewer reads; operator also changes releases, rollouts and site labels; admin also users, tokens and keys. */
export const ROLES = ["viewer", "operator", "admin"] as const;
export const Role = z.enum(ROLES);
export type Role = z.output<typeof Role>;

/** Project and user names: lowercase DNS-label style, so they read the same in a header, a URL and a group map. */
export const ProjectName = z.string().regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, "must be 1-63 lowercase letters, digits or '-', not starting or ending with '-'");
export const UserName = z.string().regex(/^[a-z0-9][a-z0-9._@-]{0,62}$/, "must be 1-63 lowercase letters, digits, '.', '_', '@' or '-', starting with a letter or digit");

export const CreateProjectRequest = z.strictObject({ name: ProjectName });
export const ProjectView = z.object({ name: z.string(), createdAt: z.string(), role: Role.nullable() });
export type ProjectView = z.output<typeof ProjectView>;
export const ProjectList = z.object({ projects: z.array(ProjectView) });

export const CreateUserRequest = z.strictObject({
  name: UserName,
  /** The new user's role in the request's project. */
  role: Role,
  /** Lifetime of the first API token, returned once in the answer. */
  tokenExpiresInDays: z.number().int().min(1).max(3650).default(90),
});
export const GrantRequest = z.strictObject({ role: Role });
export const UserView = z.object({ name: z.string(), role: Role, hubAdmin: z.boolean(), createdAt: z.string() });
export type UserView = z.output<typeof UserView>;
export const UserList = z.object({ users: z.array(UserView) });

export const CreateApiTokenRequest = z.strictObject({
  /** What it is for (shown in `tokens list`). */
  name: z.string().min(1).max(64).regex(/^[^\u0000-\u001f]*$/, "must not contain control characters"),
  expiresInDays: z.number().int().min(1).max(3650).default(90),
});
export const ApiTokenView = z.object({
  id: z.string(), name: z.string(), createdAt: z.string(), expiresAt: z.string().nullable(), revokedAt: z.string().nullable(),
});
export type ApiTokenView = z.output<typeof ApiTokenView>;
/** The only answer that carries the token itself. */
export const CreatedApiToken = ApiTokenView.extend({ token: z.string() });
export const ApiTokenList = z.object({ tokens: z.array(ApiTokenView) });
export const CreateUserResponse = z.object({ user: UserView, token: CreatedApiToken });

export const AuditQuery = z.strictObject({
  actor: z.string().max(200).optional(),
  /** Entries with an id below this (paging back from the newest). */
  before: z.coerce.number().int().min(1).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});
export const AuditEntry = z.object({
  id: z.number().int(), at: z.string(), actor: z.string(), project: z.string().nullable(), method: z.string(), route: z.string(),
  target: z.string(), sourceIp: z.string().nullable(), status: z.number().int(), requestId: z.string(),
});
export type AuditEntry = z.output<typeof AuditEntry>;
export const AuditList = z.object({ entries: z.array(AuditEntry) });

export const WhoAmI = z.object({
  actor: z.string(), hubAdmin: z.boolean(), via: z.enum(["api-token", "oidc"]),
  roles: z.record(z.string(), Role),
});
export type WhoAmI = z.output<typeof WhoAmI>;
