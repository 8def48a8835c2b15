import { Hono, type Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { HubError, ROLLOUT_ACTIONS, type RolloutAction } from "@outpost/shared";
import type { HubDeps } from "../api/deps.ts";
import { TrustedProxies } from "../audit/forwarded.ts";
import { admit, type HubFetch } from "./api.ts";
import { CSS, ROLLOUT_JS } from "./assets.ts";
import { registerOidcSignIn } from "./oidc.tsx";
import { AuditPage } from "./pages/audit.tsx";
import { ErrorPage } from "./pages/error.tsx";
import { LoginPage, signedOutMessage } from "./pages/login.tsx";
import { OverviewPage } from "./pages/overview.tsx";
import { ReleasesPage } from "./pages/releases.tsx";
import { RolloutPage } from "./pages/rollout.tsx";
import { RolloutsPage } from "./pages/rollouts.tsx";
import { SitePage } from "./pages/site.tsx";
import { render } from "./render.tsx";
import { parseRolloutForm } from "./rollout-form.ts";
import {
  browserView, clearSession, inProcess, requireSession, safeNext, sameOrigin, setProject, setSession, type UiEnv,
} from "./session.ts";
import { auditSignIn } from "./sign-in.ts";
import { rolloutStream } from "./stream.ts";
import { siteTelemetry } from "./telemetry.ts";

const ROLLOUT_ID = /^[0-9A-HJKMNP-TV-Z]{26}$/;
const AUDIT_LIMIT = 200;

export type DashboardDeps = Pick<HubDeps, "hub" | "now" | "shutdown" | "logger" | "oidc" | "trustedProxies" | "publicUrl">;

const TITLES: Record<number, string> = { 400: "Not accepted", 403: "Not allowed", 404: "Not found", 409: "Not possible now" };

/**
 * The dashboard, mounted at /ui: server-rendered pages over the operator API (called in-process
 * through `fetch`, the hub app's own), a stylesheet and one small script for live rollout progress.
 */
export function dashboard(deps: DashboardDeps, fetch: HubFetch): Hono<UiEnv> {
  const ui = new Hono<UiEnv>();

  ui.get("/static/app.css", (c) => c.body(CSS, 200, { "content-type": "text/css; charset=utf-8", "cache-control": "max-age=300" }));
  ui.get("/static/rollout.js", (c) => c.body(ROLLOUT_JS, 200, { "content-type": "text/javascript; charset=utf-8", "cache-control": "max-age=300" }));
  ui.use("*", async (c, next) => {
    await next();
    // Pages show fleet data: never from a shared cache, never framed by another site.
    c.header("x-frame-options", "DENY");
    c.header("referrer-policy", "same-origin");
    if (!c.res.headers.get("cache-control")) c.header("cache-control", "no-store");
  });
  ui.use("*", browserView(deps.trustedProxies ?? TrustedProxies.NONE));
  ui.use("*", sameOrigin(deps.publicUrl));

  const loginPage = (c: Context<UiEnv>, next: string, error?: string, status: ContentfulStatusCode = 200) =>
    render(c, <LoginPage next={next} error={error} notice={signedOutMessage(c.req.query("why"))} oidcIssuer={deps.oidc?.config.issuer} />, status);
  ui.get("/login", (c) => loginPage(c, safeNext(c.req.query("next"))));
  ui.post("/login", auditSignIn(deps, "/ui/login"), async (c) => {
    const form = await c.req.parseBody();
    const token = typeof form.token === "string" ? form.token.trim() : "";
    const next = safeNext(typeof form.next === "string" ? form.next : undefined);
    if (!token) return loginPage(c, next, "Paste a token to sign in.", 400);
    const admitted = await admit(inProcess(c, fetch), token);
    if (admitted instanceof HubError) return loginPage(c, next, `Not signed in: ${admitted.message}`, admitted.status as 401);
    c.set("signInActor", admitted.actor);
    setSession(c, token);
    return c.redirect(next, 303);
  });
  ui.use("/oidc/callback", auditSignIn(deps, "/ui/oidc/callback"));
  registerOidcSignIn(ui, deps, fetch);
  ui.post("/logout", (c) => { clearSession(c); return c.redirect("/ui/login", 303); });

  ui.use("*", requireSession(fetch));
  ui.onError((err, c) => {
    if (err instanceof HubError && err.status === 401) {
      // An expired or revoked token: signed out, with a word on why, back where they were after signing in again.
      clearSession(c);
      if (c.req.method === "GET" && !c.req.path.endsWith("/stream")) {
        return c.redirect(`/ui/login?why=${encodeURIComponent(err.code)}&next=${encodeURIComponent(c.req.path)}`, 303);
      }
      return render(c, <ErrorPage title="Signed out" message={signedOutMessage(err.code) ?? err.message} code={err.code} action={{ href: "/ui/login", label: "Sign in" }} />, 401);
    }
    if (err instanceof HubError && err.code === "NO_ROLE" && !c.get("session")) {
      // Signed in, but every role is gone: nothing to show, so offer signing in as someone else.
      clearSession(c);
      return render(c, <ErrorPage title="No access" message={err.message} code={err.code} action={{ href: "/ui/login", label: "Sign in" }} />, 403);
    }
    if (err instanceof HubError && err.status < 500) {
      return render(c, <ErrorPage title={TITLES[err.status] ?? "Not possible"} message={err.message} code={err.code} />, err.status as ContentfulStatusCode);
    }
    const requestId = c.get("requestId") ?? "unknown";
    deps.logger.error({ reqId: requestId, err }, "dashboard page failed");
    return render(c, <ErrorPage title="Something went wrong" message={`The hub could not show this page (request id ${requestId}); its log has the details.`} />, 500);
  });

  ui.post("/project", async (c) => {
    const form = await c.req.parseBody();
    const name = typeof form.project === "string" ? form.project : "";
    // The list the API gave for this caller: a project they have no role in cannot be picked.
    if (!c.get("session").projects.some((p) => p.name === name)) throw new HubError(403, "NO_ROLE", `you have no role in project '${name}'`);
    setProject(c, name);
    return c.redirect("/ui", 303);
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
    const parsed = parseRolloutForm(await c.req.parseBody());
    if ("error" in parsed) return rolloutsPage(c, parsed.error);
    const api = c.get("api");
    try {
      const created = await api.createRollout(parsed.request);
      if (parsed.start) await api.rolloutAction(created.id, "start");
      return c.redirect(`/ui/rollouts/${created.id}`, 303);
    } catch (e) {
      // The form's own mistakes (400, 404 release, 409) go back on the form; refusals get their page.
      if (e instanceof HubError && e.status !== 401 && e.status !== 403 && e.status < 500) return rolloutsPage(c, e.message);
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
    if (!(ROLLOUT_ACTIONS as readonly string[]).includes(action)) throw new HubError(404, "NOT_FOUND", `unknown rollout action '${action}'`);
    try {
      await c.get("api").rolloutAction(id, action as RolloutAction);
    } catch (e) {
      // Refused (409: e.g. already paused): show the rollout with the API's reason.
      if (e instanceof HubError && e.status === 409) return rolloutPage(c, id, e.message);
      throw e;
    }
    return c.redirect(`/ui/rollouts/${id}`, 303);
  });

  ui.get("/audit", async (c) => {
    const actor = c.req.query("actor")?.trim() || undefined;
    const before = Number(c.req.query("before")) || undefined; // the API checks what it is given
    const entries = await c.get("api").audit({ actor, before, limit: AUDIT_LIMIT });
    return render(c, <AuditPage entries={entries} actor={actor} more={entries.length === AUDIT_LIMIT} now={deps.now()} />);
  });
  return ui;
}

function rolloutId(c: Context): string {
  const id = c.req.param("id") ?? "";
  if (!ROLLOUT_ID.test(id)) throw new HubError(404, "ROLLOUT_NOT_FOUND", `no rollout '${id}'`);
  return id;
}
