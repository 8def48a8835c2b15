import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Page } from "playwright-core";
import { startIssuer, type TestIssuer } from "../../hub/src/test-support/oidc-issuer.ts";
import { HeadlessBrowser } from "../lib/browser.ts";
import { Fleet } from "../lib/fleet.ts";
import { waitFor } from "../lib/processes.ts";

/**
 * "Sign in with <issuer>" in a real headless Chromium: the authorization-code flow with PKCE,
 * state and nonce against an OIDC issuer this test runs (discovery, JWKS, /authorize signing in
 * the configured user, /token checking code, client secret and verifier), and a real hub process
 * configured from the environment. The issuer is `localhost`, the hub 127.0.0.1: two sites to
 * the browser, as in production, so the SameSite cookies are exercised for real.
 */
const CLIENT = "outpost-dashboard";
const SECRET = "dashboard-client-secret";

describe("dashboard OIDC sign-in in headless Chromium", () => {
  const hub = new Fleet();
  const browser = new HeadlessBrowser();
  let issuer: TestIssuer;

  beforeAll(async () => {
    issuer = await startIssuer({ host: "localhost" });
    await Promise.all([
      hub.startHub({
        OUTPOST_OIDC_ISSUER: issuer.url, OUTPOST_OIDC_AUDIENCE: CLIENT, OUTPOST_OIDC_CLIENT_SECRET: SECRET,
        OUTPOST_OIDC_ROLE_MAP: "lab-ops=lab:operator,shop-staff=shops:viewer", OUTPOST_ROLLOUT_TICK_SECONDS: "0",
        OUTPOST_LOG_LEVEL: "debug", // every request line, so the test can check none carries a secret
      }),
      browser.start(),
    ]);
    issuer.registerClient({ id: CLIENT, secret: SECRET, redirectUris: [`${hub.url}/ui/oidc/callback`] });
    for (const p of ["lab", "shops"]) await hub.op.createProject(p);
  });
  afterAll(async () => { await browser.close(); await hub.close(); await issuer?.close(); });

  /** A new browser profile that clicks "Sign in with ..." on the sign-in page; answers the page it ends on and that page's status. */
  async function signIn(user: TestIssuer["user"], before?: (page: Page) => Promise<void>): Promise<{ page: Page; status: number; callback: URL }> {
    issuer.user = user;
    const page = await browser.page();
    await before?.(page);
    await page.goto(`${hub.url}/ui/releases`); // not signed in: to the sign-in page, remembering where to go after
    expect(new URL(page.url()).pathname).toBe("/ui/login");
    const [res] = await Promise.all([
      page.waitForResponse((r) => new URL(r.url()).pathname === "/ui/oidc/callback"),
      page.click(`text=Sign in with ${new URL(issuer.url).host}`),
    ]);
    await page.waitForLoadState();
    return { page, status: res.status(), callback: new URL(res.url()) };
  }

  it("signs in through the issuer and shows the projects the user's groups give them a role in", async () => {
    const { page, callback } = await signIn({ sub: "alice@idp", groups: ["lab-ops", "shop-staff", "unrelated"] });
    await page.waitForURL(`${hub.url}/ui/releases`);
    const options = await page.locator("#project-picker option").allTextContents();
    expect(options).toEqual(["lab (operator)", "shops (viewer)"]); // not `default`: no group maps there
    await expect(page.textContent("header .who")).resolves.toBe("oidc:alice@idp");
    const cookie = (await page.context().cookies()).find((c) => c.name === "outpost_session")!;
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: "Strict", path: "/ui" });
    expect(cookie.value.split(".")).toHaveLength(3); // the ID token itself, checked by the API on every request
    expect((await page.context().cookies()).some((c) => c.name === "outpost_oidc")).toBe(false); // the attempt is used up
    expect(issuer.tokenCalls.at(-1)).toEqual({ client: "basic", answer: 200 }); // the client secret went by HTTP Basic
    await page.goto(`${hub.url}/ui`);
    await expect(page.textContent("#project-name")).resolves.toBe("lab");
    await browser.screenshot(page, "oidc-01-signed-in");

    const audit = await hub.op.audit({ actor: "oidc:alice@idp" }); // hub-wide: the hub admin sees it
    expect(audit.map((e) => [e.method, e.route, e.status])).toContainEqual(["GET", "/ui/oidc/callback", 200]);

    // The hub logged the sign-in's requests, but not the client secret, the code or the ID token.
    const log = hub.hub.text();
    expect(log).toContain("/ui/oidc/callback");
    for (const secret of [SECRET, callback.searchParams.get("code")!, cookie.value]) expect(log).not.toContain(secret);
  });

  it("a user whose groups map to no role gets a clear 403 page, and no session", async () => {
    const { page, status } = await signIn({ sub: "mallory@idp", groups: ["marketing"] });
    expect(status).toBe(403);
    await expect(page.getAttribute("#error-page", "data-code")).resolves.toBe("NO_ROLE");
    await expect(page.textContent("[role=alert]")).resolves.toMatch(/signed in as mallory@idp \(groups: marketing\).*OUTPOST_OIDC_ROLE_MAP/s);
    expect((await page.context().cookies()).some((c) => c.name === "outpost_session")).toBe(false);
    expect(await page.content()).not.toMatch(/at \w+ \(|node_modules/); // a page, not a stack
    await browser.screenshot(page, "oidc-02-no-role");
  });

  it("refuses a callback whose state was tampered with, without trading its code", async () => {
    const calls = issuer.tokenCalls.length;
    const { page, status } = await signIn({ sub: "alice@idp", groups: ["lab-ops"] }, async (p) => {
      // On the way back from the issuer, someone swaps the state (a forged or replayed callback).
      // Playwright routes only the first request of a redirect chain, so the test walks the chain
      // itself: the hub's real start (its attempt cookie included), the issuer's real code, then
      // the browser is sent on to the callback with everything real but the state.
      await p.route(/\/ui\/oidc\/start/, async (route) => {
        const start = await route.fetch({ maxRedirects: 0 });
        const atIssuer = await fetch(start.headers().location!, { redirect: "manual" });
        const back = new URL(atIssuer.headers.get("location")!);
        expect(back.searchParams.get("code")).toBeTruthy();
        back.searchParams.set("state", `forged-${back.searchParams.get("state")!.slice(7)}`);
        await route.fulfill({ response: start, headers: { ...start.headers(), location: back.toString() } });
      });
    });
    expect(status).toBe(400);
    await expect(page.getAttribute("#error-page", "data-code")).resolves.toBe("STATE_MISMATCH");
    expect(issuer.tokenCalls.length).toBe(calls);
    expect((await page.context().cookies()).some((c) => c.name === "outpost_session")).toBe(false);
    await browser.screenshot(page, "oidc-03-bad-state");
  });

  it("a user who cancels at the issuer, and an issuer that is down, get pages saying so", async () => {
    const cancelled = await signIn(null);
    expect(cancelled.status).toBe(400);
    await expect(cancelled.page.textContent("h1")).resolves.toBe("Sign-in cancelled");
    issuer.tokenEndpointDown = true;
    try {
      const down = await signIn({ sub: "alice@idp", groups: ["lab-ops"] });
      expect(down.status).toBe(502);
      await expect(down.page.textContent("h1")).resolves.toBe("The identity provider is unavailable");
    } finally { issuer.tokenEndpointDown = false; }
  });

  it("when the ID token expires, the browser is signed out with a message and can sign in again", async () => {
    // Valid for ~8 s more: the hub forgives 30 s of clock skew past exp.
    issuer.idTokenTtlSeconds = -22;
    const { page } = await signIn({ sub: "alice@idp", groups: ["lab-ops"] });
    issuer.idTokenTtlSeconds = 300;
    await page.waitForURL(`${hub.url}/ui/releases`);
    await waitFor("the expired sign-in to send the browser to the sign-in page", async () => {
      await page.goto(`${hub.url}/ui/rollouts`);
      return new URL(page.url()).pathname === "/ui/login";
    }, 30_000, 1000);
    await expect(page.textContent("#signed-out")).resolves.toBe("Your sign-in has expired. Sign in again.");
    expect((await page.context().cookies()).some((c) => c.name === "outpost_session")).toBe(false);
    await browser.screenshot(page, "oidc-04-expired");
    await page.click(`text=Sign in with ${new URL(issuer.url).host}`); // the issuer's session is still there: one click
    await page.waitForURL(`${hub.url}/ui/rollouts`);
  });
});
