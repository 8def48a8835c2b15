import { ROLES, type Role } from "@outpost/shared";

/**
 * Who is calling the operator API, however they proved it (an API token or an OIDC token), as
 * the route guard, the audit log and the dashboard all need it.
 */
export interface Principal {
  /** What the audit log records: `user:<name>` or `oidc:<subject>`. */
  actor: string;
  via: "api-token" | "oidc";
  /** The user row behind an API token; null for OIDC callers (they have no row, only claims). */
  userId: string | null;
  /** Admin on every project, present and future (the first start's admin token, or an OIDC `*:admin` group). */
  hubAdmin: boolean;
  /** Role per project name; `*` (OIDC group maps only) applies to every project. */
  roles: Record<string, Role>;
}

const rank = (r: Role) => ROLES.indexOf(r);

export function atLeast(have: Role | null, need: Role): boolean {
  return have !== null && rank(have) >= rank(need);
}

export function higher(a: Role | null | undefined, b: Role | null | undefined): Role | null {
  if (!a) return b ?? null;
  if (!b) return a;
  return rank(a) >= rank(b) ? a : b;
}

/** The caller's role in one project, or null: none at all. */
export function roleIn(p: Principal, project: string): Role | null {
  if (p.hubAdmin) return "admin";
  return higher(p.roles[project], p.roles["*"]);
}
