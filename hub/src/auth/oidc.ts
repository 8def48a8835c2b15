import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload } from "jose";
import { ProjectName, Role } from "@outpost/shared";
import { HttpError } from "../api/errors.ts";
import { higher, type Principal } from "./principal.ts";

/**
 * OIDC bearer tokens (ID or access tokens) from one configured issuer, verified with jose against
 * the issuer's JWKS (found by discovery, fetched once and cached by jose, refetched on an unknown
 * `kid`). A groups claim maps to project roles; nothing is stored about OIDC callers. The
 * dashboard's sign-in (oidc-login.ts) gets its ID token through the same verifier.
 */
export interface OidcConfig {
  issuer: string;
  /** The audience tokens must carry: the hub's client id at the issuer (also the dashboard's `client_id`). */
  audience: string;
  /** Claim holding the caller's groups; a dotted path reaches into objects (`realm_access.roles`). */
  groupsClaim: string;
  roleMap: RoleMapping[];
  /** The dashboard's client secret at the issuer, when it is a confidential client; never logged. */
  clientSecret?: string;
  /** Scopes the dashboard asks for (default DEFAULT_SCOPES; `openid` is always added). */
  scopes?: string[];
}

/** What discovery tells (OpenID Connect Discovery 1.0); only the fields the hub uses. */
export interface OidcDiscovery {
  issuer: string;
  jwks_uri: string;
  authorization_endpoint?: string;
  token_endpoint?: string;
  token_endpoint_auth_methods_supported?: string[];
  code_challenge_methods_supported?: string[];
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

export const DEFAULT_SCOPES = ["openid", "profile", "email"];

/** OIDC is on when OUTPOST_OIDC_ISSUER is set; the audience is then required (a token for another app must not get in). */
export function oidcConfigFromEnv(env: NodeJS.ProcessEnv = process.env): OidcConfig | null {
  const issuer = env.OUTPOST_OIDC_ISSUER;
  if (!issuer) return null;
  const audience = env.OUTPOST_OIDC_AUDIENCE;
  if (!audience) throw new Error("OUTPOST_OIDC_AUDIENCE must be set with OUTPOST_OIDC_ISSUER (the client id tokens are issued for)");
  const scopes = (env.OUTPOST_OIDC_SCOPES || DEFAULT_SCOPES.join(" ")).split(/[\s,]+/).filter(Boolean);
  return {
    issuer, audience, groupsClaim: env.OUTPOST_OIDC_GROUPS_CLAIM || "groups", roleMap: parseRoleMap(env.OUTPOST_OIDC_ROLE_MAP ?? ""),
    ...(env.OUTPOST_OIDC_CLIENT_SECRET ? { clientSecret: env.OUTPOST_OIDC_CLIENT_SECRET } : {}),
    scopes,
  };
}

export const looksLikeJwt = (s: string): boolean => /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(s);

/** Clock skew forgiven between the issuer and the hub; also how long past `exp` a token still works. */
export const CLOCK_TOLERANCE_S = 30;

export class OidcVerifier {
  #discovery: Promise<{ doc: OidcDiscovery; jwks: ReturnType<typeof createRemoteJWKSet> }> | null = null;
  constructor(readonly config: OidcConfig) {}

  /**
   * The caller a valid token stands for; 401 for any token this issuer/audience did not sign or
   * that has expired (`OIDC_EXPIRED`, so a browser can be told to sign in again). With `nonce`
   * (the dashboard's sign-in) the token must also carry that nonce, and name the hub as its
   * authorized party if it has several audiences (OIDC Core 3.1.3.7).
   */
  async verify(token: string, opts: { nonce?: string } = {}): Promise<Principal> {
    return this.principal(await this.verifiedClaims(token, opts));
  }

  async verifiedClaims(token: string, opts: { nonce?: string } = {}): Promise<JWTPayload> {
    const { jwks } = await this.#discover();
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, jwks, { issuer: this.config.issuer, audience: this.config.audience, clockTolerance: CLOCK_TOLERANCE_S }));
    } catch (e) {
      if (e instanceof errors.JWTExpired) throw new HttpError(401, "OIDC_EXPIRED", "OIDC token refused: it has expired (sign in again)");
      throw new HttpError(401, "OIDC_INVALID", `OIDC token refused: ${reason(e)}`);
    }
    if (!payload.sub) throw new HttpError(401, "OIDC_INVALID", "OIDC token refused: it has no subject (sub)");
    if (opts.nonce !== undefined) {
      if (payload.nonce !== opts.nonce) throw new HttpError(401, "OIDC_INVALID", "OIDC token refused: its nonce is not the one this sign-in sent");
      const multi = Array.isArray(payload.aud) && payload.aud.length > 1;
      if ((multi || payload.azp !== undefined) && payload.azp !== this.config.audience) {
        throw new HttpError(401, "OIDC_INVALID", "OIDC token refused: it was issued to another client (azp)");
      }
    }
    return payload;
  }

  /** The issuer's discovery document (fetched once; a failure is retried on the next call): 503 when unreachable. */
  async discovery(): Promise<OidcDiscovery> { return (await this.#discover()).doc; }

  /** The caller's groups, from the configured claim. */
  groups(payload: JWTPayload): string[] { return groupsOf(claimAt(payload, this.config.groupsClaim)); }

  principal(payload: JWTPayload): Principal {
    const groups = this.groups(payload);
    const p: Principal = { actor: `oidc:${payload.sub}`, via: "oidc", userId: null, hubAdmin: false, roles: {} };
    for (const m of this.config.roleMap) {
      if (!groups.includes(m.group)) continue;
      if (m.project === "*" && m.role === "admin") p.hubAdmin = true;
      p.roles[m.project] = higher(p.roles[m.project], m.role)!;
    }
    return p;
  }

  /** Discovery once; a failed discovery is retried on the next request instead of being cached. */
  #discover(): Promise<{ doc: OidcDiscovery; jwks: ReturnType<typeof createRemoteJWKSet> }> {
    this.#discovery ??= (async () => {
      const url = `${this.config.issuer.replace(/\/+$/, "")}/.well-known/openid-configuration`;
      const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
      if (!res.ok) throw new Error(`discovery answered HTTP ${res.status}`);
      const doc = await res.json() as Partial<OidcDiscovery>;
      // A discovery document for another issuer means a misconfiguration or a hijacked URL: trust none of its keys.
      if (doc.issuer !== this.config.issuer) throw new Error(`discovery names issuer '${doc.issuer}', expected '${this.config.issuer}'`);
      if (!doc.jwks_uri) throw new Error("discovery document has no jwks_uri");
      return { doc: doc as OidcDiscovery, jwks: createRemoteJWKSet(new URL(doc.jwks_uri), { timeoutDuration: 5000 }) };
    })().catch((e: Error) => {
      this.#discovery = null;
      throw new HttpError(503, "OIDC_UNAVAILABLE", `cannot reach the OIDC issuer: ${e.message}`);
    });
    return this.#discovery;
  }
}

function reason(e: unknown): string {
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
