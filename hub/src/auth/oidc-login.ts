import { createHash } from "node:crypto";
import { DEFAULT_SCOPES, type OidcConfig, type OidcDiscovery, type OidcVerifier } from "./oidc.ts";
import { randomBase64url } from "./secrets.ts";

/**
 * The dashboard's side of the OIDC authorization-code flow with PKCE (RFC 7636, S256), `state`
 * (the callback belongs to a sign-in this browser started) and `nonce` (the ID token was minted
 * for that sign-in). The ID token it ends with is verified by the same OidcVerifier the API uses.
 */
export interface LoginAttempt { state: string; nonce: string; verifier: string }

/** 256 random bits each: unguessable, and a verifier of 43 characters as RFC 7636 wants. */
export function newLoginAttempt(): LoginAttempt {
  return { state: randomBase64url(32), nonce: randomBase64url(32), verifier: randomBase64url(32) };
}

export const pkceChallenge = (verifier: string): string => createHash("sha256").update(verifier, "ascii").digest("base64url");

/** A sign-in that cannot go on; `status` and `title` are what the dashboard's error page shows. */
export class OidcLoginError extends Error {
  constructor(readonly status: 400 | 403 | 502, readonly title: string, message: string) {
    super(message);
    this.name = "OidcLoginError";
  }
}

export function authorizationUrl(doc: OidcDiscovery, config: OidcConfig, attempt: LoginAttempt, redirectUri: string): string {
  if (!doc.authorization_endpoint) throw new OidcLoginError(502, "Sign-in is not available", "the identity provider's discovery document names no authorization_endpoint");
  if (doc.code_challenge_methods_supported && !doc.code_challenge_methods_supported.includes("S256")) {
    throw new OidcLoginError(502, "Sign-in is not available", "the identity provider does not support PKCE with S256, which this hub requires");
  }
  const url = new URL(doc.authorization_endpoint);
  const scopes = new Set(["openid", ...(config.scopes ?? DEFAULT_SCOPES)]);
  const params = {
    response_type: "code", client_id: config.audience, redirect_uri: redirectUri, scope: [...scopes].join(" "),
    state: attempt.state, nonce: attempt.nonce, code_challenge: pkceChallenge(attempt.verifier), code_challenge_method: "S256",
  };
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  return url.toString();
}

const TOKEN_TIMEOUT_MS = 10_000;

/**
 * Trades the code for tokens at the token endpoint and returns the ID token (unverified: the
 * caller verifies it). A confidential client authenticates with HTTP Basic (the default of OIDC
 * Core 9), or in the body when the issuer only offers client_secret_post. The secret and the
 * tokens appear in no error message.
 */
export async function exchangeCode(verifier: OidcVerifier, code: string, attempt: LoginAttempt, redirectUri: string): Promise<string> {
  const config = verifier.config;
  const doc = await verifier.discovery();
  if (!doc.token_endpoint) throw new OidcLoginError(502, "Sign-in is not available", "the identity provider's discovery document names no token_endpoint");
  const body = new URLSearchParams({ grant_type: "authorization_code", code, redirect_uri: redirectUri, code_verifier: attempt.verifier, client_id: config.audience });
  const headers: Record<string, string> = { "content-type": "application/x-www-form-urlencoded", accept: "application/json" };
  if (config.clientSecret !== undefined) {
    const methods = doc.token_endpoint_auth_methods_supported ?? ["client_secret_basic"];
    if (!methods.includes("client_secret_basic") && methods.includes("client_secret_post")) body.set("client_secret", config.clientSecret);
    else headers.authorization = `Basic ${Buffer.from(`${formEncode(config.audience)}:${formEncode(config.clientSecret)}`).toString("base64")}`;
  }
  let res: Response;
  try {
    res = await fetch(doc.token_endpoint, { method: "POST", headers, body, signal: AbortSignal.timeout(TOKEN_TIMEOUT_MS) });
  } catch (e) {
    throw new OidcLoginError(502, "The identity provider cannot be reached", `the token endpoint did not answer: ${(e as Error).name === "TimeoutError" ? "timed out" : ((e as { cause?: { code?: string } }).cause?.code ?? "network error")}`);
  }
  const answer = await res.json().catch(() => null) as { id_token?: unknown; error?: unknown; error_description?: unknown } | null;
  if (!res.ok) {
    // invalid_grant: the code was used, expired or was not made for this verifier; start again.
    const what = typeof answer?.error === "string" ? `${answer.error}${typeof answer.error_description === "string" ? `: ${answer.error_description}` : ""}` : `HTTP ${res.status}`;
    throw res.status >= 500
      ? new OidcLoginError(502, "The identity provider is unavailable", `the token endpoint answered ${what.slice(0, 300)}`)
      : new OidcLoginError(400, "The identity provider refused the sign-in", `the token endpoint answered ${what.slice(0, 300)}`);
  }
  if (typeof answer?.id_token !== "string") throw new OidcLoginError(502, "The identity provider refused the sign-in", "the token endpoint answered no id_token (is `openid` among the scopes?)");
  return answer.id_token;
}

/** RFC 6749 2.3.1: client id and secret are form-encoded before they are joined for Basic. */
const formEncode = (s: string): string => encodeURIComponent(s).replace(/%20/g, "+");
