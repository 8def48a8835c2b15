import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload } from "jose";
import { ProjectName, Role } from "@outpost/shared";
import { HttpError } from "../api/errors.ts";
import { higher, type Principal } from "./principal.ts";

/**
 * OIDC bearer tokens (ID or access tokens) from one configured issuer, verified with jose against
 * the issuer's JWKS (found by discovery, fetched once and cached by jose, refetched on an unknown
 * `kid`). A groups claim maps to project roles; nothing is stored about OIDC callers.
 */
export interface OidcConfig {
  issuer: string;
  audience: string;
  /** Claim holding the caller's groups; a dotted path reaches into objects (`realm_access.roles`). */
  groupsClaim: string;
  roleMap: RoleMapping[];
}
export interface RoleMapping { group: string; project: string; role: Role }

/** `group=project:role,...` (project `*` = every project; `*:admin` makes a hub admin). Throws naming the bad entry. */
export function parseRoleMap(text: string): RoleMapping[] {
  return text.split(",").map((s) => s.trim()).filter(Boolean).map((entry) => {
    const m = /^([^=\s]+)=([^:\s]+):([a-z]+)$/.exec(entry);
    if (!m) throw new Error(`OUTPOST_OIDC_ROLE_MAP entry '${entry}' must be group=project:role`);
    const [, group, project, role] = m as unknown as [string, string, string, string];
    if (project !== "*" && !ProjectName.safeParse(project).success) throw new Error(`OUTPOST_OIDC_ROLE_MAP entry '${entry}': '${project}' is not a project name (or *)`);
    const r = Role.safeParse(role);
    if (!r.success) throw new Error(`OUTPOST_OIDC_ROLE_MAP entry '${entry}': role must be viewer, operator or admin`);
    return { group, project, role: r.data };
  });
}

/** OIDC is on when OUTPOST_OIDC_ISSUER is set; the audience is then required (a token for another app must not get in). */
export function oidcConfigFromEnv(env: NodeJS.ProcessEnv = process.env): OidcConfig | null {
  const issuer = env.OUTPOST_OIDC_ISSUER;
  if (!issuer) return null;
  const audience = env.OUTPOST_OIDC_AUDIENCE;
  if (!audience) throw new Error("OUTPOST_OIDC_AUDIENCE must be set with OUTPOST_OIDC_ISSUER (the client id tokens are issued for)");
  return { issuer, audience, groupsClaim: env.OUTPOST_OIDC_GROUPS_CLAIM || "groups", roleMap: parseRoleMap(env.OUTPOST_OIDC_ROLE_MAP ?? "") };
}

export const looksLikeJwt = (s: string): boolean => /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(s);

export class OidcVerifier {
  #jwks: Promise<ReturnType<typeof createRemoteJWKSet>> | null = null;
  constructor(readonly config: OidcConfig) {}

  /** The caller a valid token stands for; 401 for any token this issuer/audience did not sign or that has expired. */
  async verify(token: string): Promise<Principal> {
    const jwks = await this.#keySet();
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, jwks, { issuer: this.config.issuer, audience: this.config.audience, clockTolerance: 30 }));
    } catch (e) {
      throw new HttpError(401, "OIDC_INVALID", `OIDC token refused: ${reason(e)}`);
    }
    if (!payload.sub) throw new HttpError(401, "OIDC_INVALID", "OIDC token refused: it has no subject (sub)");
    return this.principal(payload);
  }

  principal(payload: JWTPayload): Principal {
    const groups = groupsOf(claimAt(payload, this.config.groupsClaim));
    const p: Principal = { actor: `oidc:${payload.sub}`, via: "oidc", userId: null, hubAdmin: false, roles: {} };
    for (const m of this.config.roleMap) {
      if (!groups.includes(m.group)) continue;
      if (m.project === "*" && m.role === "admin") p.hubAdmin = true;
      p.roles[m.project] = higher(p.roles[m.project], m.role)!;
    }
    return p;
  }

  /** Discovery once; a failed discovery is retried on the next request instead of being cached. */
  #keySet(): Promise<ReturnType<typeof createRemoteJWKSet>> {
    this.#jwks ??= (async () => {
      const url = `${this.config.issuer.replace(/\/+$/, "")}/.well-known/openid-configuration`;
      const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
      if (!res.ok) throw new Error(`discovery answered HTTP ${res.status}`);
      const doc = await res.json() as { issuer?: string; jwks_uri?: string };
      // A discovery document for another issuer means a misconfiguration or a hijacked URL: trust none of its keys.
      if (doc.issuer !== this.config.issuer) throw new Error(`discovery names issuer '${doc.issuer}', expected '${this.config.issuer}'`);
      if (!doc.jwks_uri) throw new Error("discovery document has no jwks_uri");
      return createRemoteJWKSet(new URL(doc.jwks_uri), { timeoutDuration: 5000 });
    })().catch((e: Error) => {
      this.#jwks = null;
      throw new HttpError(503, "OIDC_UNAVAILABLE", `cannot reach the OIDC issuer: ${e.message}`);
    });
    return this.#jwks;
  }
}

function reason(e: unknown): string {
  if (e instanceof errors.JWTExpired) return "it has expired";
  if (e instanceof errors.JWTClaimValidationFailed) return `claim '${e.claim}' is not what this hub accepts (${e.reason})`;
  if (e instanceof errors.JWKSNoMatchingKey) return "it is signed with a key the issuer does not publish";
  if (e instanceof errors.JWSSignatureVerificationFailed) return "its signature does not verify";
  if (e instanceof errors.JWKSTimeout) return "the issuer's key set did not answer in time";
  return (e as Error).message;
}

function claimAt(payload: JWTPayload, path: string): unknown {
  return path.split(".").reduce<unknown>((v, k) => (v && typeof v === "object" ? (v as Record<string, unknown>)[k] : undefined), payload);
}

function groupsOf(v: unknown): string[] {
  if (typeof v === "string") return [v];
  return Array.isArray(v) ? v.filter((g): g is string => typeof g === "string") : [];
}
