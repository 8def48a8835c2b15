import type { Context, MiddlewareHandler } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { UiApi, type HubFetch } from "./api.ts";

/**
 * Dashboard sessions. The cookie holds the operator's own API token (or OIDC token): HttpOnly so
 * page scripts never see it, SameSite=Strict so no other site's page can make the browser send it,
 * Secure whenever the dashboard is reached over https, Path=/ui so the API never receives it as a
 * credential. The hub keeps no session state: each request hands the token to the operator API
 * (see api.ts), which decides, as it does for the CLI, whether it is still good.
 *
 * CSRF: SameSite=Strict plus an Origin check on every POST (a browser always sends Origin on a
 * form POST; a request whose Origin is not this host's is refused). No per-form token is needed.
 */
export const SESSION_COOKIE = "outpost_session";
export type UiEnv = { Variables: { api: UiApi; requestId: string } };

export function setSession(c: Context, token: string): void {
  setCookie(c, SESSION_COOKIE, token, {
    httpOnly: true, sameSite: "Strict", path: "/ui", secure: isHttps(c),
    maxAge: 12 * 3600, // a forgotten browser tab does not stay signed in for days
  });
}

export function clearSession(c: Context): void { deleteCookie(c, SESSION_COOKIE, { path: "/ui", secure: isHttps(c) }); }

/** Attaches a UiApi for the signed-in operator, or sends the browser to the sign-in page. */
export function requireSession(fetch: HubFetch): MiddlewareHandler<UiEnv> {
  return async (c, next) => {
    const token = getCookie(c, SESSION_COOKIE);
    if (!token) {
      if (wantsHtml(c)) return c.redirect(`/ui/login?next=${encodeURIComponent(c.req.path)}`, 303);
      return c.json({ error: { code: "AUTH_MISSING", message: "sign in at /ui/login" } }, 401);
    }
    c.set("api", new UiApi(fetch, new URL(c.req.url).origin, token, c.env));
    await next();
  };
}

/** Refuses a state-changing request that a page on another origin made the browser send. */
export const sameOrigin: MiddlewareHandler = async (c, next) => {
  if (c.req.method !== "GET" && c.req.method !== "HEAD") {
    const origin = c.req.header("origin");
    const host = c.req.header("x-forwarded-host") ?? c.req.header("host");
    let ok = false;
    try { ok = origin !== undefined && new URL(origin).host === host; } catch { ok = false; }
    if (!ok) return c.text("cross-origin form submission refused", 403);
  }
  await next();
};

/** Only a path inside the dashboard: `next=` must never send a signed-in operator elsewhere. */
export function safeNext(next: string | undefined): string {
  return next && /^\/ui(\/[A-Za-z0-9/_-]*)?$/.test(next) ? next : "/ui";
}

function isHttps(c: Context): boolean {
  return new URL(c.req.url).protocol === "https:" || c.req.header("x-forwarded-proto") === "https";
}

function wantsHtml(c: Context): boolean { return c.req.method === "GET" && !c.req.path.endsWith("/stream"); }
