import { Hono, type Context } from "hono";
import type { JSX } from "hono/jsx/jsx-runtime";
import { HubError, ROLLOUT_ACTIONS, type RolloutAction } from "@outpost/shared";
import type { HubDeps } from "../api/deps.ts";
import { HttpError } from "../api/errors.ts";
import { operatorTokenAccepted, type HubFetch } from "./api.ts";
import { CSS, ROLLOUT_JS } from "./assets.ts";
import { loadAuditLog } from "./audit-source.ts";
import { AuditPage } from "./pages/audit.tsx";
import { LoginPage } from "./pages/login.tsx";
import { OverviewPage } from "./pages/overview.tsx";
import { ReleasesPage } from "./pages/releases.tsx";
import { RolloutPage } from "./pages/rollout.tsx";
import { RolloutsPage } from "./pages/rollouts.tsx";
import { SitePage } from "./pages/site.tsx";
import { parseRolloutForm } from "./rollout-form.ts";
import { clearSession, requireSession, safeNext, sameOrigin, setSession, type UiEnv } from "./session.ts";
import { rolloutStream } from "./stream.ts";
import { siteTelemetry } from "./telemetry.ts";

const ROLLOUT_ID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

/** A form body no browser sends (a broken multipart body, found by test/faults) is a 400, not a 500. */
async function readForm(c: Context) {
  try { return await c.req.parseBody(); } catch { throw new HttpError(400, "BAD_FORM", "the form body could not be read"); }
}

/**
 * The dashboard, mounted at /ui: server-rendered pages over the operator API (called in-process
 * through `fetch`, the hub app's own), a stylesheet and one small script for live rollout progress.
 */
export function dashboard(deps: Pick<HubDeps, "hub" | "now" | "shutdown">, fetch: HubFetch): Hono<UiEnv> {
  const ui = new Hono<UiEnv>();
  const render = (c: Context, page: JSX.Element, status: 200 | 400 | 401 | 404 | 409 = 200) => c.html(`<!doctype html>${String(page)}`, status);

  ui.get("/static/app.css", (c) => c.body(CSS, 200, { "content-type": "text/css; charset=utf-8", "cache-control": "max-age=300" }));
  ui.get("/static/rollout.js", (c) => c.body(ROLLOUT_JS, 200, { "content-type": "text/javascript; charset=utf-8", "cache-control": "max-age=300" }));
  ui.use("*", async (c, next) => {
    await next();
    // Pages show fleet data: never from a shared cache, never framed by another site.
    c.header("x-frame-options", "DENY");
    c.header("referrer-policy", "same-origin");
    if (!c.res.headers.get("cache-control")) c.header("cache-control", "no-store");
  });
  ui.use("*", sameOrigin);

  ui.get("/login", (c) => render(c, <LoginPage next={safeNext(c.req.query("next"))} />));
  ui.post("/login", async (c) => {
    const form = await readForm(c);
    const token = typeof form.token === "string" ? form.token.trim() : "";
    const next = safeNext(typeof form.next === "string" ? form.next : undefined);
    if (!token) return render(c, <LoginPage next={next} error="Paste a token to sign in." />, 400);
    const accepted = await operatorTokenAccepted(fetch, new URL(c.req.url).origin, token, c.env);
    if (accepted !== true) return render(c, <LoginPage next={next} error={`Not signed in: ${accepted.message}`} />, 401);
    setSession(c, token);
    return c.redirect(next, 303);
  });
  ui.post("/logout", (c) => { clearSession(c); return c.redirect("/ui/login", 303); });

  ui.use("*", requireSession(fetch));
  ui.onError((err, c) => {
    // An expired or revoked token: back to the sign-in form rather than an error page.
    if (err instanceof HubError && err.status === 401) {
      clearSession(c);
      return c.req.method === "GET" ? c.redirect(`/ui/login?next=${encodeURIComponent(c.req.path)}`, 303) : c.text(err.message, 401);
    }
    if (err instanceof HubError && err.status < 500) return c.text(`${err.code}: ${err.message}`, err.status as 400);
    throw err;
  });

  ui.get("/", async (c) => render(c, <OverviewPage sites={await c.get("api").listSites()} now={deps.now()} />));

  ui.get("/sites/:site", async (c) => {
    const api = c.get("api");
    const name = c.req.param("site");
    const site = await api.getSite(name);
    const [events, telemetry] = await Promise.all([api.reports({ site: name, kind: "event", limit: 20 }), siteTelemetry(api, name, c.req.query("metric"))]);
    return render(c, <SitePage site={site} events={events} {...telemetry} now={deps.now()} />);
  });

  ui.get("/releases", async (c) => render(c, <ReleasesPage releases={await c.get("api").listReleases()} now={deps.now()} />));

  const rolloutsPage = async (c: Context<UiEnv>, error?: string) => {
    const api = c.get("api");
    const [rollouts, releases] = await Promise.all([api.listRollouts(), api.listReleases()]);
    return render(c, <RolloutsPage rollouts={rollouts} releases={releases} now={deps.now()} error={error} />, error ? 400 : 200);
  };
  ui.get("/rollouts", (c) => rolloutsPage(c));
  ui.post("/rollouts", async (c) => {
    const parsed = parseRolloutForm(await readForm(c));
    if ("error" in parsed) return rolloutsPage(c, parsed.error);
    const api = c.get("api");
    try {
      const created = await api.createRollout(parsed.request);
      if (parsed.start) await api.rolloutAction(created.id, "start");
      return c.redirect(`/ui/rollouts/${created.id}`, 303);
    } catch (e) {
      if (e instanceof HubError && e.status !== 401 && e.status < 500) return rolloutsPage(c, e.message);
      throw e;
    }
  });

  const rolloutPage = async (c: Context<UiEnv>, id: string, error?: string) => {
    const api = c.get("api");
    const [r, events] = await Promise.all([api.getRollout(id), api.rolloutEvents(id)]);
    return render(c, <RolloutPage r={r} events={events} now={deps.now()} error={error} />, error ? 409 : 200);
  };
  ui.get("/rollouts/:id", (c) => rolloutPage(c, rolloutId(c)));
  ui.get("/rollouts/:id/stream", async (c) => {
    const id = rolloutId(c);
    await c.get("api").getRollout(id); // the API checks the viewer may see it before the stream opens
    return rolloutStream(c, deps.hub, id, deps.shutdown);
  });
  ui.post("/rollouts/:id/:action", async (c) => {
    const id = rolloutId(c);
    const action = c.req.param("action");
    if (!(ROLLOUT_ACTIONS as readonly string[]).includes(action)) return c.text(`unknown action '${action}'`, 404);
    try {
      await c.get("api").rolloutAction(id, action as RolloutAction);
    } catch (e) {
      // Refused (409: e.g. already paused): show the rollout with the API's reason.
      if (e instanceof HubError && e.status === 409) return rolloutPage(c, id, e.message);
      throw e;
    }
    return c.redirect(`/ui/rollouts/${id}`, 303);
  });

  ui.get("/audit", async (c) => render(c, <AuditPage log={await loadAuditLog(c.get("api"))} now={deps.now()} />));
  return ui;
}

function rolloutId(c: Context): string {
  const id = c.req.param("id") ?? "";
  if (!ROLLOUT_ID.test(id)) throw new HubError(404, "ROLLOUT_NOT_FOUND", `no rollout '${id}'`);
  return id;
}
