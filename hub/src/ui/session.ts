import type { Context, MiddlewareHandler } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { HubError, type ProjectView } from "@outpost/shared";
import { requestHost, type TrustedProxies } from "../audit/forwarded.ts";
import { peerAddress } from "../audit/log.ts";
import { admit, UiApi, type HubFetch, type InProcess } from "./api.ts";
import { pickProject } from "./projects.ts";

/**
 * Dashboard sessions. The cookie holds the operator's own API token (or OIDC ID token): HttpOnly
 * so page scripts never see it, SameSite=Strict so no other site's page can make the browser send
 * it, Secure whenever the dashboard is reached over https, Path=/ui so the API never receives it
 * as a credential. The hub keeps no session state: each request hands the token to the operator
 * API (see api.ts), which decides, as it does for the CLI, whether it is still good.
 *
 * CSRF: SameSite=Strict plus an Origin check on every POST (a browser always sends Origin on a
 * form POST; a request whose Origin is not this host's is refused). No per-form token is needed.
 */
export const SESSION_COOKIE = "outpost_session";
/** The project picked in the dashboard; only a preference: the API checks the role on every call. */
export const PROJECT_COOKIE = "outpost_project";
/** A forgotten browser tab does not stay signed in for days. */
export const SESSION_MAX_AGE_S = 12 * 3600;

/** Who is signed in, the projects they have a role in, and the one the dashboard acts in. */
export interface UiSession { actor: string; hubAdmin: boolean; projects: ProjectView[]; project: ProjectView }
/** The host and scheme the browser used (through trusted proxies: audit/forwarded.ts). */
export interface BrowserView { host: string | undefined; proto: "http" | "https"; origin: string }
export type UiEnv = {
  Variables: {
    api: UiApi; session: UiSession; browser: BrowserView; requestId: string;
    /** Who a sign-in attempt turned out to be, for its audit entry (sign-in.ts). */
    signInActor: string;
  };
};

/** Works out, once per request, which host and scheme the browser is on. */
export function browserView(trusted: TrustedProxies): MiddlewareHandler<UiEnv> {
  return async (c, next) => {
    const own = new URL(c.req.url);
    const { host, proto } = requestHost(peerAddress(c), {
      host: c.req.header("host"), forwardedHost: c.req.header("x-forwarded-host"), forwardedProto: c.req.header("x-forwarded-proto"),
    }, own.protocol === "https:" ? "https" : "http", trusted);
    c.set("browser", { host, proto, origin: `${proto}://${host ?? own.host}` });
    await next();
  };
}

/** The in-process route to the operator API for this browser request. */
export function inProcess(c: Context, fetch: HubFetch): InProcess {
  return { fetch, origin: new URL(c.req.url).origin, env: c.env, forwardedFor: c.req.header("x-forwarded-for") };
}

export function setSession(c: Context<UiEnv>, token: string): void {
  setCookie(c, SESSION_COOKIE, token, { httpOnly: true, sameSite: "Strict", path: "/ui", secure: isHttps(c), maxAge: SESSION_MAX_AGE_S });
}

export function clearSession(c: Context<UiEnv>): void { deleteCookie(c, SESSION_COOKIE, { path: "/ui", secure: isHttps(c) }); }

export function setProject(c: Context<UiEnv>, project: string): void {
  setCookie(c, PROJECT_COOKIE, project, { httpOnly: true, sameSite: "Strict", path: "/ui", secure: isHttps(c), maxAge: 365 * 86_400 });
}

/**
 * Attaches the signed-in operator (a UiApi acting in the picked project, and the session), or
 * sends the browser to the sign-in page. Asks the API who the token is and which projects it may
 * act in on every request, so a revoked role or token takes effect at once.
 */
export function requireSession(fetch: HubFetch): MiddlewareHandler<UiEnv> {
  return async (c, next) => {
    const token = getCookie(c, SESSION_COOKIE);
    if (!token) {
      if (wantsHtml(c)) return c.redirect(`/ui/login?next=${encodeURIComponent(c.req.path)}`, 303);
      return c.json({ error: { code: "AUTH_MISSING", message: "sign in at /ui/login" } }, 401);
    }
    const via = inProcess(c, fetch);
    const admitted = await admit(via, token);
    if (admitted instanceof HubError) throw admitted; // the error handler signs the browser out (401) or shows the refusal
    const project = pickProject(admitted.projects, getCookie(c, PROJECT_COOKIE));
    c.set("session", { ...admitted, project });
    c.set("api", new UiApi(via, token, project.name));
    await next();
  };
}

/**
 * Refuses a state-changing request that a page on another origin made the browser send: its
 * Origin must be the host the browser is on (Host, or X-Forwarded-Host from a trusted proxy) or
 * the configured public URL (OUTPOST_PUBLIC_URL).
 */
export function sameOrigin(publicUrl: string | undefined): MiddlewareHandler<UiEnv> {
  return async (c, next) => {
    if (c.req.method !== "GET" && c.req.method !== "HEAD") {
      const origin = c.req.header("origin");
      let ok = false;
      try { ok = origin !== undefined && (new URL(origin).host === c.get("browser").host || new URL(origin).origin === publicUrl); } catch { ok = false; }
      if (!ok) return c.text("cross-origin form submission refused", 403);
    }
    await next();
  };
}

/** Only a path inside the dashboard: `next=` must never send a signed-in operator elsewhere. */
export function safeNext(next: string | undefined): string {
  return next && /^\/ui(\/[A-Za-z0-9/_-]*)?$/.test(next) ? next : "/ui";
}

export const isHttps = (c: Context<UiEnv>): boolean => c.get("browser").proto === "https";

function wantsHtml(c: Context): boolean { return c.req.method === "GET" && !c.req.path.endsWith("/stream"); }
