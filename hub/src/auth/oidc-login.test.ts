import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startIssuer, type TestIssuer } from "../test-support/oidc-issuer.ts";
import { authorizationUrl, exchangeCode, newLoginAttempt, OidcLoginError, type LoginAttempt } from "./oidc-login.ts";
import { OidcVerifier, oidcConfigFromEnv, parseRoleMap } from "./oidc.ts";

/**
 * The dashboard's authorization-code exchange against a real issuer the test runs: what goes to
 * the authorization endpoint, and how the token endpoint's checks (client, code, PKCE) and the
 * ID token's (nonce) turn into refusals. The browser side is test/e2e/dashboard-oidc.test.ts.
 */
const CLIENT = "outpost-hub";
const REDIRECT = "http://127.0.0.1:1/ui/oidc/callback";
let issuer: TestIssuer;
let verifier: OidcVerifier;

beforeAll(async () => {
  issuer = await startIssuer();
  issuer.registerClient({ id: CLIENT, secret: "s3cret with space", redirectUris: [REDIRECT] });
  issuer.user = { sub: "alice", groups: ["ops"] };
  verifier = new OidcVerifier({ issuer: issuer.url, audience: CLIENT, groupsClaim: "groups", roleMap: parseRoleMap("ops=a:operator"), clientSecret: "s3cret with space" });
});
afterAll(async () => { await issuer?.close(); });

/** What a browser does between the hub's redirect and the callback: follow it to the issuer, get the code. */
async function codeFor(attempt: LoginAttempt): Promise<string> {
  const res = await fetch(authorizationUrl(await verifier.discovery(), verifier.config, attempt, REDIRECT), { redirect: "manual" });
  const back = new URL(res.headers.get("location")!);
  expect(back.searchParams.get("state")).toBe(attempt.state);
  return back.searchParams.get("code")!;
}

describe("OIDC sign-in: authorization code + PKCE", () => {
  it("asks for a code with an S256 challenge of the verifier, the state, the nonce and openid", async () => {
    const attempt = newLoginAttempt();
    const url = new URL(authorizationUrl(await verifier.discovery(), verifier.config, attempt, REDIRECT));
    expect(Object.fromEntries(url.searchParams)).toMatchObject({
      response_type: "code", client_id: CLIENT, redirect_uri: REDIRECT, state: attempt.state, nonce: attempt.nonce,
      code_challenge_method: "S256", code_challenge: createHash("sha256").update(attempt.verifier).digest("base64url"),
      scope: "openid profile email",
    });
    expect(attempt.verifier).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(new Set([attempt.state, attempt.nonce, attempt.verifier]).size).toBe(3);
  });

  it("trades the code with the verifier and the client secret (HTTP Basic) for an ID token carrying the nonce", async () => {
    const attempt = newLoginAttempt();
    const idToken = await exchangeCode(verifier, await codeFor(attempt), attempt, REDIRECT);
    expect(issuer.tokenCalls.at(-1)).toEqual({ client: "basic", answer: 200 });
    const claims = await verifier.verifiedClaims(idToken, { nonce: attempt.nonce });
    expect(claims).toMatchObject({ sub: "alice", nonce: attempt.nonce });
    expect(verifier.principal(claims).roles).toEqual({ a: "operator" });
    // The same token from another sign-in attempt (another nonce) is refused.
    await expect(verifier.verifiedClaims(idToken, { nonce: newLoginAttempt().nonce })).rejects.toMatchObject({ status: 401, message: /nonce/ });
  });

  it("is refused with a wrong PKCE verifier, a reused code, a wrong client secret or the token endpoint down", async () => {
    const attempt = newLoginAttempt();
    const code = await codeFor(attempt);
    const wrongVerifier = { ...attempt, verifier: newLoginAttempt().verifier };
    await expect(exchangeCode(verifier, code, wrongVerifier, REDIRECT)).rejects.toMatchObject({ status: 400, message: /invalid_grant: PKCE verifier does not match/ });
    await expect(exchangeCode(verifier, code, attempt, REDIRECT)).rejects.toMatchObject({ status: 400, message: /invalid_grant/ }); // codes work once

    const impostor = new OidcVerifier({ ...verifier.config, clientSecret: "guessed" });
    const a2 = newLoginAttempt();
    const err = await exchangeCode(impostor, await codeFor(a2), a2, REDIRECT).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OidcLoginError);
    expect(err).toMatchObject({ status: 400, message: /invalid_client/ });
    expect(String((err as Error).message)).not.toContain("guessed");

    issuer.tokenEndpointDown = true;
    try {
      const a3 = newLoginAttempt();
      await expect(exchangeCode(verifier, await codeFor(a3), a3, REDIRECT)).rejects.toMatchObject({ status: 502, title: "The identity provider is unavailable", message: /temporarily_unavailable/ });
    } finally { issuer.tokenEndpointDown = false; }
  });

  it("an unreachable issuer is a 503 naming it, and discovery is tried again on the next sign-in", async () => {
    const gone = await startIssuer();
    const url = gone.url;
    await gone.close();
    const v = new OidcVerifier({ issuer: url, audience: CLIENT, groupsClaim: "groups", roleMap: [] });
    await expect(v.discovery()).rejects.toMatchObject({ status: 503, code: "OIDC_UNAVAILABLE" });
    await expect(v.discovery()).rejects.toMatchObject({ status: 503 }); // not a cached failure: a second real attempt
  });

  it("reads the client secret and scopes from the environment; the audience is the client id", () => {
    const cfg = oidcConfigFromEnv({ OUTPOST_OIDC_ISSUER: "https://idp.example", OUTPOST_OIDC_AUDIENCE: "hub", OUTPOST_OIDC_CLIENT_SECRET: "x", OUTPOST_OIDC_SCOPES: "openid groups" });
    expect(cfg).toMatchObject({ audience: "hub", clientSecret: "x", scopes: ["openid", "groups"] });
    expect(oidcConfigFromEnv({ OUTPOST_OIDC_ISSUER: "https://idp.example", OUTPOST_OIDC_AUDIENCE: "hub" })).not.toHaveProperty("clientSecret");
  });
});
