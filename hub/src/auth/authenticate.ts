import { HttpError } from "../api/errors.ts";
import type { HubDeps } from "../api/deps.ts";
import { principalForApiToken } from "./api-tokens.ts";
import { looksLikeJwt } from "./oidc.ts";
import type { Principal } from "./principal.ts";

const REFUSED = {
  unknown: "API token not recognised",
  expired: "API token has expired: create a new one with `outpost tokens create`",
  revoked: "API token was revoked",
} as const;

/**
 * The caller behind an `Authorization: Bearer ...` header: an API token (any string the hub issued;
 * the first start's token may be set by automation, so no prefix is assumed), else an OIDC token
 * when an issuer is configured. Throws 401 naming what was wrong, never echoing the token.
 * The dashboard signs in through the same function.
 */
export async function authenticate(deps: Pick<HubDeps, "hub" | "now" | "oidc">, authorization: string | undefined): Promise<Principal> {
  const m = /^Bearer\s+(\S+)$/i.exec(authorization ?? "");
  if (!m) {
    const how = deps.oidc ? "an API token or an OIDC token" : "an API token";
    throw new HttpError(401, "AUTH_MISSING", `${how} is required (Authorization: Bearer ...)`);
  }
  const bearer = m[1]!;
  const checked = await principalForApiToken(deps.hub.db, bearer, deps.now());
  if (checked.ok) return checked.principal;
  if (checked.reason === "unknown" && deps.oidc && looksLikeJwt(bearer)) return deps.oidc.verify(bearer);
  throw new HttpError(401, checked.reason === "unknown" ? "AUTH_INVALID" : `AUTH_${checked.reason.toUpperCase()}`, REFUSED[checked.reason]);
}
