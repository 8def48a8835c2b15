import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";

/** Debian's chromium, installed by .ci/run (test/daemons/install.sh): no browser download needed. */
export const CHROMIUM = process.env.OUTPOST_CHROMIUM ?? "/usr/bin/chromium";
/** Where screenshots go (gitignored; CI keeps them as artefacts). */
export const SCREENSHOTS = join(process.cwd(), "test-results", "dashboard");

/**
 * A real headless Chromium for dashboard tests. The flags stop Chromium's own background traffic
 * (component updates, sync, QUIC probes): on a closed network those connections are refused and
 * slow every page down. CookieSameSiteConsidersRedirectChain makes Chromium as strict as Firefox
 * and Safari: a redirect chain that passed through another site (an OIDC issuer) is cross-site,
 * so SameSite=Strict cookies do not follow it; the dashboard must work under that rule.
 */
export class HeadlessBrowser {
  private browser?: Browser;
  private readonly contexts: BrowserContext[] = [];

  async start(): Promise<void> {
    mkdirSync(SCREENSHOTS, { recursive: true });
    this.browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync", "--enable-features=CookieSameSiteConsidersRedirectChain",
      ], // no --user-data-dir: launch() gives every run a new empty profile of its own (and refuses the flag)
    });
  }

  /** A fresh browser profile (cookies, storage) at the given viewport. */
  async page(viewport = { width: 1280, height: 900 }): Promise<Page> {
    const context = await this.browser!.newContext({ viewport });
    this.contexts.push(context);
    return context.newPage();
  }

  async screenshot(page: Page, name: string): Promise<string> {
    const path = join(SCREENSHOTS, `${name}.png`);
    await page.screenshot({ path, fullPage: true });
    return path;
  }

  async close(): Promise<void> {
    for (const c of this.contexts) await c.close().catch(() => {});
    await this.browser?.close();
  }
}
