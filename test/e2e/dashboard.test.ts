import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Page } from "playwright-core";
import { AgentClient, importPrivate, newKeyPair } from "@outpost/shared";
import { HeadlessBrowser } from "../lib/browser.ts";
import { Fleet } from "../lib/fleet.ts";
import { storeRelease } from "../lib/releases.ts";
import { SimFleet } from "../lib/sim-fleet.ts";

/**
 * The dashboard as an operator uses it, in a real headless Chromium against a real hub process
 * and three real (sim-driver) agents: sign in, see the fleet in sync, start a rollout from the
 * form, watch its waves fill in without reloading, find the action in the audit log, switch to
 * another project, see what a viewer may not do, and read it all on a phone. Screenshots land in
 * test-results/dashboard/.
 */
describe("dashboard in headless Chromium", () => {
  const hub = new Fleet();
  const sims = new SimFleet(() => hub.url);
  const browser = new HeadlessBrowser();
  const names = ["shop-1", "shop-2", "shop-3"];
  let page: Page;

  beforeAll(async () => {
    await Promise.all([hub.startHub({ OUTPOST_ROLLOUT_TICK_SECONDS: "1" }), browser.start()]);
    const { token } = await hub.op.createToken({ autoApprove: true, uses: names.length });
    await sims.add(names.map((name) => ({ name, labels: { region: "eu" } })), token);
    await hub.op.createRelease(storeRelease("1.0"));
    await hub.op.createRelease(storeRelease("1.1", { instances: 3 }));
    await hub.op.assign({ name: "store", version: "1.0" }, "");
    await hub.waitApplied(names, () => 1, 60_000);
    // A second project with a site of its own (enrolled over the agent API, no agent process needed).
    await hub.op.createProject("lab");
    const key = await newKeyPair();
    const { token: labToken } = await hub.op.inProject("lab").createToken();
    await new AgentClient(hub.url, "lab-1", await importPrivate(key.privateJwk)).enroll({ token: labToken, site: "lab-1", publicKey: key.publicJwk });
    page = await browser.page();
  });
  afterAll(async () => { await browser.close(); await sims.close(); await hub.close(); });

  it("refuses a wrong token and keeps the real one out of page scripts", async () => {
    await page.goto(`${hub.url}/ui`);
    expect(new URL(page.url()).pathname).toBe("/ui/login"); // not signed in: sent to the form
    await page.fill("input[name=token]", "opa_not-a-real-token-at-all");
    await page.click("button[type=submit]");
    await expect(page.getByRole("alert").textContent()).resolves.toMatch(/not recognised|Not signed in/);

    await page.fill("input[name=token]", hub.adminToken);
    await page.click("button[type=submit]");
    await page.waitForURL(`${hub.url}/ui`);
    const cookie = (await page.context().cookies()).find((c) => c.name === "outpost_session")!;
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: "Strict", path: "/ui" });
    expect(await page.evaluate(() => document.cookie)).toBe("");
  });

  it("shows the three sites in sync, and one site's detail with its telemetry", async () => {
    await page.goto(`${hub.url}/ui`);
    await expect(page.textContent('[data-count="in-sync"]')).resolves.toBe("3");
    for (const s of ["applying", "failed", "offline"]) await expect(page.textContent(`[data-count="${s}"]`)).resolves.toBe("0");
    expect(await page.locator("#sites tbody tr").count()).toBe(3);
    await expect(page.textContent('#sites tr[data-site="shop-2"]')).resolves.toMatch(/In sync.*store@1\.0/);
    await browser.screenshot(page, "01-fleet");

    await page.click("text=shop-2");
    await page.waitForURL(/\/ui\/sites\/shop-2$/);
    await expect(page.textContent("main")).resolves.toMatch(/region=eu/);
    expect(await page.locator("svg.spark polyline").count()).toBe(1); // telemetry sparkline drawn
    await expect(page.textContent("figcaption")).resolves.toMatch(/process\.rss_bytes/);
    await expect(page.textContent("#events")).resolves.toMatch(/applied/);
    await browser.screenshot(page, "02-site");
  });

  it("starts a rollout from the form and its waves progress live, without a reload", async () => {
    await page.goto(`${hub.url}/ui/rollouts`);
    await page.selectOption("select[name=release]", "store@1.1");
    await page.fill("input[name=waves]", "1,2,100%");
    await page.click("#new-rollout button[type=submit]");
    await page.waitForURL(/\/ui\/rollouts\/[0-9A-Z]{26}$/);
    const url = page.url();
    // A marker that only survives if the page is never reloaded or navigated away from.
    await page.evaluate(() => { (window as unknown as { __marker: number }).__marker = 42; });
    const firstWave = await page.textContent('[data-wave="0"] [data-count="succeeded"]');
    await browser.screenshot(page, "03-rollout-started");

    await page.waitForFunction(() => document.getElementById("rollout-status")?.textContent === "completed", null, { timeout: 60_000 });
    expect(page.url()).toBe(url);
    expect(await page.evaluate(() => (window as unknown as { __marker?: number }).__marker)).toBe(42);
    expect(firstWave).toBe("0"); // it was not done when the page loaded: what follows came live
    for (const w of [0, 1, 2]) await expect(page.textContent(`[data-wave="${w}"] [data-count="succeeded"]`)).resolves.toBe("1");
    await expect(page.textContent("#rollout-succeeded")).resolves.toBe("3 / 3");
    expect(Number(await page.getAttribute("#rollout", "data-updates"))).toBeGreaterThanOrEqual(2);
    expect(await page.locator('form[data-when] button:text("Pause")').isVisible()).toBe(false); // actions follow the status too
    await browser.screenshot(page, "04-rollout-completed");
    expect((await hub.op.listSites()).map((s) => s.release)).toEqual(["store@1.1", "store@1.1", "store@1.1"]);
  });

  it("lists the rollout's start in the audit log", async () => {
    await page.click("text=Audit log");
    await page.waitForURL(`${hub.url}/ui/audit`);
    const start = page.locator("#audit tbody tr", { hasText: "/start" }).first();
    await expect(start.textContent()).resolves.toMatch(/user:admin.*POST \/api\/v1\/rollouts\/:id\/start.*id=[0-9A-Z]{26}.*127\.0\.0\.1.*200/s);
    await browser.screenshot(page, "05-audit");
    await page.fill("#audit-filter input[name=actor]", "site:shop-2");
    await page.click("#audit-filter button");
    await page.waitForURL(/\/ui\/audit\?actor=site%3Ashop-2$/);
    expect(await page.locator("#audit tbody tr").allTextContents()).toEqual([expect.stringMatching(/site:shop-2.*POST \/agent\/v1\/enroll.*201/)]);
  });

  const siteNames = (p: Page) => p.locator("#sites tbody tr[data-site]").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-site")));

  it("switches projects with the picker: each project shows its own sites only", async () => {
    await page.goto(`${hub.url}/ui`);
    expect(await page.locator("#project-picker option").allTextContents()).toEqual(["default (admin)", "lab (admin)"]);
    await page.selectOption("#project-picker select", "lab");
    await page.click("#project-picker button");
    await page.waitForURL(`${hub.url}/ui`);
    await expect(page.textContent("#project-name")).resolves.toBe("lab");
    expect(await siteNames(page)).toEqual(["lab-1"]);
    await browser.screenshot(page, "06-project-lab");
    await page.goto(`${hub.url}/ui/rollouts`);
    await expect(page.textContent("#rollouts tbody")).resolves.toMatch(/No rollouts yet/);
    // Another project's site is as missing here as one that does not exist.
    expect((await page.goto(`${hub.url}/ui/sites/shop-1`))!.status()).toBe(404);

    await page.goto(`${hub.url}/ui/sites/lab-1`); // the choice is kept across pages
    await page.selectOption("#project-picker select", "default");
    await page.click("#project-picker button");
    await page.waitForURL(`${hub.url}/ui`);
    expect(await siteNames(page)).toEqual(names);
  });

  it("a viewer is offered no rollout actions, and one posted anyway is refused with a clear page", async () => {
    const { token } = (await hub.op.createUser("vera", "viewer")).token;
    const viewer = await browser.page();
    await viewer.goto(`${hub.url}/ui/login`);
    await viewer.fill("input[name=token]", token);
    await viewer.click("button[type=submit]");
    await viewer.waitForURL(`${hub.url}/ui`);
    expect(await viewer.locator("#project-picker option").allTextContents()).toEqual(["default (viewer)"]);
    expect(await viewer.locator("header nav a", { hasText: "Audit log" }).count()).toBe(0);
    const [rollout] = await hub.op.listRollouts();
    await viewer.goto(`${hub.url}/ui/rollouts/${rollout!.id}`);
    expect(await viewer.locator("form[data-when]").count()).toBe(0);
    await expect(viewer.textContent("#no-actions")).resolves.toMatch(/role in default is viewer/);
    await browser.screenshot(viewer, "07-viewer-rollout");
    await viewer.goto(`${hub.url}/ui/rollouts`);
    expect(await viewer.locator("#new-rollout").count()).toBe(0);

    const res = await viewer.request.post(`${hub.url}/ui/rollouts/${rollout!.id}/rollback`, { headers: { origin: hub.url } });
    expect(res.status()).toBe(403);
    expect(await res.text()).toMatch(/Not allowed.*needs operator in the project &#39;default&#39;; you are viewer/s);
    expect((await hub.op.getRollout(rollout!.id)).status).toBe("completed");
    expect((await viewer.goto(`${hub.url}/ui/audit`))!.status()).toBe(403);

    // Her last role taken away: the next page says so and signs her out, rather than an error loop.
    await hub.op.revokeRole("vera");
    expect((await viewer.goto(`${hub.url}/ui`))!.status()).toBe(403);
    await expect(viewer.textContent("[role=alert]")).resolves.toMatch(/user:vera has no role in any project/);
    expect((await viewer.context().cookies()).some((c) => c.name === "outpost_session")).toBe(false);
  });

  it("serves Prometheus metrics to an operator token only", async () => {
    expect((await fetch(`${hub.url}/metrics`)).status).toBe(401);
    expect((await fetch(`${hub.url}/metrics`, { headers: { authorization: "Bearer opa_wrong-token-0123456789" } })).status).toBe(401);
    const res = await fetch(`${hub.url}/metrics`, { headers: { authorization: `Bearer ${hub.adminToken}` } });
    expect(res.headers.get("content-type")).toMatch(/^text\/plain/);
    const text = await res.text();
    const value = (re: RegExp) => Number(re.exec(text)?.[1] ?? NaN);
    expect(value(/^outpost_sites\{project="[^"]+",state="in-sync"\} (\d+)$/m)).toBe(3);
    expect(value(/^outpost_bundle_fetches_total\{status="200"\} (\d+)$/m)).toBeGreaterThanOrEqual(6); // 3 sites x 2 bundles
    expect(value(/^outpost_report_lag_seconds_count (\d+)$/m)).toBeGreaterThan(0);
    expect(text).toMatch(/^outpost_http_request_duration_seconds_count\{method="GET",route="\/agent\/v1\/bundle",status="\d+"\} \d+$/m);
    expect(text).toMatch(/^outpost_sites\{project="lab",state="pending"\} 1$/m);

    // A token of project lab only sees lab's fleet: nothing crosses projects, not even as counts.
    const { token } = (await hub.op.inProject("lab").createUser("lab-scraper", "viewer")).token;
    const scoped = await (await fetch(`${hub.url}/metrics`, { headers: { authorization: `Bearer ${token}` } })).text();
    expect(scoped).toMatch(/^outpost_sites\{project="lab",state="pending"\} 1$/m);
    expect(scoped).not.toMatch(/project="default"/);
  });

  it("refuses a form posted from another origin", async () => {
    const res = await page.request.post(`${hub.url}/ui/rollouts`, { headers: { origin: "http://evil.example" }, form: { release: "store@1.0", waves: "100%" } });
    expect(res.status()).toBe(403);
  });

  it("fits a phone screen: no horizontal scrolling on any page", async () => {
    const phone = await browser.page({ width: 390, height: 844 });
    await phone.goto(`${hub.url}/ui/login`);
    await phone.fill("input[name=token]", hub.adminToken);
    await phone.click("button[type=submit]");
    await phone.waitForURL(`${hub.url}/ui`);
    const [rollout] = await hub.op.listRollouts();
    for (const [path, shot] of [["/ui", "08-phone-fleet"], ["/ui/sites/shop-1", "09-phone-site"], [`/ui/rollouts/${rollout!.id}`, "10-phone-rollout"]] as const) {
      await phone.goto(hub.url + path);
      const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      expect([path, overflow]).toEqual([path, 0]);
      await browser.screenshot(phone, shot);
    }
  });
});
