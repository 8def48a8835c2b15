import type { Context, Hono } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { z } from "zod";
import { HubError } from "@outpost/shared";
import type { HubDeps } from "../api/deps.ts";
import { HttpError } from "../api/errors.ts";
import { authorizationUrl, exchangeCode, newLoginAttempt, OidcLoginError, type LoginAttempt } from "../auth/oidc-login.ts";
import type { OidcVerifier } from "../auth/oidc.ts";
import { sameSecret } from "../auth/secrets.ts";
import { admit, type HubFetch } from "./api.ts";
import { Layout } from "./layout.tsx";
import { ErrorPage } from "./pages/error.tsx";
import { render } from "./render.tsx";
import { inProcess, isHttps, safeNext, setSession, type UiEnv } from "./session.ts";

/**
 * "Sign in with <issuer>": the OIDC authorization-code flow with PKCE, state and nonce.
 *
 * GET /ui/oidc/start keeps the attempt (state, nonce, PKCE verifier, where to go after) in a
 * short-lived cookie and sends the browser to the issuer's authorization endpoint. GET
 * /ui/oidc/callback checks the state against that cookie, trades the code (with the verifier) at
 * the token endpoint, verifies the ID token exactly as the API does plus the nonce, asks the API
 * which projects it opens, and keeps it as the session like a pasted token. The hub stores
 * nothing; no refresh token is kept: when the ID token expires the API refuses it and the browser
 * is signed out with a message (the issuer's own session usually makes signing in again one click).
 */
const ATTEMPT_COOKIE = "outpost_oidc";
const ATTEMPT_PATH = "/ui/oidc";
const ATTEMPT_MAX_AGE_S = 600;
/** What fits in a 4096-byte cookie with its name and attributes. */
const MAX_COOKIE_TOKEN = 3800;
const Attempt = z.object({ state: z.string().min(1), nonce: z.string().min(1), verifier: z.string().min(43), next: z.string() });

type Deps = Pick<HubDeps, "oidc" | "publicUrl">;

export function registerOidcSignIn(ui: Hono<UiEnv>, deps: Deps, fetch: HubFetch): void {
  ui.get("/oidc/start", async (c) => {
    const oidc = deps.oidc;
    if (!oidc) return refuse(c, 404, "OIDC sign-in is not configured", "This hub has no OIDC issuer (OUTPOST_OIDC_ISSUER). Sign in with an API token.");
    const attempt = newLoginAttempt();
    let to: string;
    try {
      to = authorizationUrl(await oidc.discovery(), oidc.config, attempt, redirectUri(c, deps));
    } catch (e) {
      return failed(c, e);
    }
    // Lax, not Strict: the issuer sends the browser back with a cross-site redirect, which Strict cookies do not follow.
    setCookie(c, ATTEMPT_COOKIE, Buffer.from(JSON.stringify({ ...attempt, next: safeNext(c.req.query("next")) })).toString("base64url"), {
      httpOnly: true, sameSite: "Lax", path: ATTEMPT_PATH, secure: isHttps(c), maxAge: ATTEMPT_MAX_AGE_S,
    });
    return c.redirect(to, 302);
  });

  ui.get("/oidc/callback", async (c) => {
    const oidc = deps.oidc;
    if (!oidc) return refuse(c, 404, "OIDC sign-in is not configured", "This hub has no OIDC issuer (OUTPOST_OIDC_ISSUER).");
    const attempt = readAttempt(c);
    deleteCookie(c, ATTEMPT_COOKIE, { path: ATTEMPT_PATH, secure: isHttps(c) }); // one callback per attempt
    const q = c.req.query();
    if (!attempt) return refuse(c, 400, "Sign-in expired", "This sign-in was not started in this browser, or took longer than 10 minutes. Start again.", "NO_ATTEMPT");
    // Checked first: only an answer to this browser's own attempt gets its words (error_description) shown.
    if (!q.state || !sameSecret(q.state, attempt.state)) {
      return refuse(c, 400, "Sign-in refused", "The answer from the identity provider does not belong to the sign-in this browser started (state mismatch). Start again.", "STATE_MISMATCH");
    }
    if (q.error) {
      const detail = `${q.error}${q.error_description ? `: ${q.error_description}` : ""}`.slice(0, 300);
      return q.error === "access_denied"
        ? refuse(c, 400, "Sign-in cancelled", `The identity provider did not sign you in (${detail}).`, "CANCELLED")
        : refuse(c, 400, "The identity provider refused the sign-in", detail, "IDP_ERROR");
    }
    if (!q.code) return refuse(c, 400, "Sign-in refused", "The identity provider sent no authorization code.", "NO_CODE");
    try {
      const idToken = await exchangeCode(oidc, q.code, attempt, redirectUri(c, deps));
      const claims = await oidc.verifiedClaims(idToken, { nonce: attempt.nonce });
      c.set("signInActor", `oidc:${claims.sub}`);
      const admitted = await admit(inProcess(c, fetch), idToken);
      if (admitted instanceof HubError) return noRole(c, oidc, claims, admitted);
      // Browsers silently drop a cookie over 4 KB: say so instead of looping back to the sign-in page.
      if (idToken.length > MAX_COOKIE_TOKEN) {
        return refuse(c, 502, "ID token too large", `The identity provider's ID token is ${idToken.length} bytes, more than a browser cookie holds (${MAX_COOKIE_TOKEN}). Have it put fewer claims (groups) in the ID token.`, "TOKEN_TOO_LARGE");
      }
      setSession(c, idToken);
      // Not a redirect: the browser arrived here from the issuer (cross-site), and a redirect would
      // carry that along, so the SameSite=Strict session cookie would not go with it. A page that
      // moves on by itself is a same-site navigation.
      return render(c, <Layout title="Signed in" refreshTo={attempt.next}><p>Signed in. <a href={attempt.next}>Continue</a></p></Layout>);
    } catch (e) {
      return failed(c, e);
    }
  });
}

/** The address the issuer sends the browser back to; it must be registered there exactly so. */
function redirectUri(c: Context<UiEnv>, deps: Deps): string {
  return `${deps.publicUrl ?? c.get("browser").origin}${ATTEMPT_PATH}/callback`;
}

function readAttempt(c: Context<UiEnv>): (LoginAttempt & { next: string }) | null {
  const raw = getCookie(c, ATTEMPT_COOKIE);
  if (!raw) return null;
  try {
    const parsed = Attempt.safeParse(JSON.parse(Buffer.from(raw, "base64url").toString("utf8")));
    return parsed.success ? { ...parsed.data, next: safeNext(parsed.data.next) } : null;
  } catch { return null; }
}

/** A sign-in that went no further: a page saying why, and the way back to the sign-in form. */
function refuse(c: Context<UiEnv>, status: 400 | 401 | 403 | 404 | 502, title: string, message: string, code?: string) {
  return render(c, <ErrorPage title={title} message={message} code={code} action={{ href: "/ui/login", label: "Back to sign-in" }} />, status);
}

function noRole(c: Context<UiEnv>, oidc: OidcVerifier, claims: { sub?: string }, e: HubError) {
  if (e.status === 401) return refuse(c, 401, "Sign-in refused", e.message, e.code);
  const groups = oidc.groups(claims);
  return refuse(c, 403, "No access", `You are signed in as ${claims.sub} (groups: ${groups.length ? groups.join(", ") : "none"}), but none of your groups gives you a role in a project on this hub. Ask a hub admin to map one in OUTPOST_OIDC_ROLE_MAP.`, "NO_ROLE");
}

/** The issuer unreachable or refusing, or its ID token failing verification: a page naming which. */
function failed(c: Context<UiEnv>, e: unknown) {
  if (e instanceof OidcLoginError) return refuse(c, e.status, e.title, e.message);
  if (e instanceof HttpError && e.status === 503) return refuse(c, 502, "The identity provider cannot be reached", e.message, e.code);
  if (e instanceof HttpError && e.status === 401) return refuse(c, 401, "Sign-in refused", `The identity provider's ID token was not accepted: ${e.message}`, e.code);
  throw e;
}
