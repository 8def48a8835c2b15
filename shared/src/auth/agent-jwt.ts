import { SignJWT, jwtVerify, decodeJwt, type CryptoKey, type JWK } from "jose";
import { ulid } from "ulid";

export const HUB_AUDIENCE = "outpost-hub";
/** Agents' request tokens live at most this long; the hub refuses anything longer-lived. */
export const AGENT_JWT_MAX_TTL_S = 60;
/** Clock skew tolerated between a site and the hub. */
export const AGENT_JWT_LEEWAY_S = 30;

/** A fresh, single-use request token: iss = sub = site, aud = hub, exp <= 60 s, unique jti. */
export async function signAgentJwt(site: string, key: CryptoKey | Uint8Array | JWK, kid?: string, now = new Date()): Promise<string> {
  const iat = Math.floor(now.getTime() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: "EdDSA", typ: "JWT", ...(kid ? { kid } : {}) })
    .setIssuer(site).setSubject(site).setAudience(HUB_AUDIENCE)
    .setIssuedAt(iat).setExpirationTime(iat + AGENT_JWT_MAX_TTL_S).setJti(ulid())
    .sign(key);
}

export type AgentJwtCode = "AUTH_MISSING" | "AUTH_MALFORMED" | "AUTH_UNKNOWN_SITE" | "AUTH_INVALID" | "AUTH_TTL" | "AUTH_REPLAY" | "AUTH_SITE_PENDING" | "AUTH_SITE_REVOKED";
export class AgentAuthError extends Error {
  constructor(readonly code: AgentJwtCode, message: string) { super(message); this.name = "AgentAuthError"; }
}

/** Only reads who the token claims to be, to look up that site's key; nothing is trusted yet. */
export function claimedSite(token: string): string {
  try {
    const { iss } = decodeJwt(token);
    if (typeof iss !== "string") throw new Error("no iss");
    return iss;
  } catch { throw new AgentAuthError("AUTH_MALFORMED", "request token is not a JWT with an iss claim"); }
}

/**
 * Verifies a request token against the site's approved key. `seenJti` records the jti and says
 * whether it was already used (replay); the caller owns that store (memory, DB).
 */
export async function verifyAgentJwt(token: string, site: string, key: CryptoKey, seenJti: (jti: string, expiresAt: number) => Promise<boolean>, now = new Date()) {
  let payload;
  try {
    ({ payload } = await jwtVerify(token, key, {
      algorithms: ["EdDSA"], issuer: site, subject: site, audience: HUB_AUDIENCE,
      clockTolerance: AGENT_JWT_LEEWAY_S, currentDate: now, requiredClaims: ["exp", "iat", "jti"],
      // Without maxTokenAge jose never looks at iat: a token minted for the future (or by a clock far
      // ahead) would be valid long past the 60 s bound. With it, iat may be at most the leeway ahead.
      maxTokenAge: AGENT_JWT_MAX_TTL_S,
    }));
  } catch (e) { throw new AgentAuthError("AUTH_INVALID", `request token refused: ${(e as Error).message}`); }
  if (payload.exp! - payload.iat! > AGENT_JWT_MAX_TTL_S) throw new AgentAuthError("AUTH_TTL", `request tokens may live at most ${AGENT_JWT_MAX_TTL_S}s`);
  if (await seenJti(payload.jti!, payload.exp!)) throw new AgentAuthError("AUTH_REPLAY", "request token already used (jti replay)");
  return payload;
}
