import { rmSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { OperatorClient, type SiteView } from "@outpost/shared";
import { spawnOutpost, tempDir, waitFor, type OutpostProcess } from "./processes.ts";

/**
 * A real hub process and real agent processes (sim driver) on loopback, each with its own
 * directory, for end-to-end tests. Everything it starts is stopped by `close()`.
 */
export class Fleet {
  readonly dir = tempDir("fleet");
  readonly adminToken = `opa_${randomBytes(32).toString("base64url")}`;
  hub!: OutpostProcess;
  url = "";
  port = 0;
  readonly agents = new Map<string, OutpostProcess>();
  private extraHubEnv: Record<string, string> = {};

  get op(): OperatorClient { return new OperatorClient(this.url, this.adminToken); }
  get hubDataDir(): string { return join(this.dir, "hub"); }
  stateDir(site: string): string { return join(this.dir, "sites", site); }

  /** Starts (or restarts, on the same port and data) the hub. */
  async startHub(env: Record<string, string> = {}): Promise<void> {
    this.extraHubEnv = { ...this.extraHubEnv, ...env };
    this.hub = spawnOutpost("hub", ["hub", "start", "--data-dir", this.hubDataDir, "--port", String(this.port)], {
      OUTPOST_ADMIN_TOKEN: this.adminToken, ...this.extraHubEnv,
    });
    const m = await this.hub.waitForOutput(/outpost hub listening on (http:\/\/\S+)/);
    this.url = m[1]!;
    this.port = Number(new URL(this.url).port);
  }

  async stopHub(signal: NodeJS.Signals = "SIGTERM"): Promise<void> { await this.hub.kill(signal); }

  /** Starts an agent process; on first start it enrolls with `token` (one per call if omitted). */
  async startAgent(site: string, opts: { token?: string; labels?: Record<string, string>; env?: Record<string, string>; hubUrl?: string; wrap?: string[] } = {}): Promise<OutpostProcess> {
    const token = opts.token ?? (await this.op.createToken({ uses: 1 })).token;
    const args = ["--hub", opts.hubUrl ?? this.url, "agent", "start", "--site", site, "--state-dir", this.stateDir(site), "--enroll-token", token];
    for (const [k, v] of Object.entries(opts.labels ?? {})) args.push("--label", `${k}=${v}`);
    const p = spawnOutpost(`agent ${site}`, args, {
      OUTPOST_HEAL_INTERVAL_SECONDS: "1", OUTPOST_REPORT_INTERVAL_SECONDS: "1", OUTPOST_LONG_POLL_SECONDS: "5", ...opts.env,
    }, { wrap: opts.wrap });
    this.agents.set(site, p);
    await p.waitForOutput(/outpost agent running for site/);
    return p;
  }

  async site(name: string): Promise<SiteView> { return this.op.getSite(name); }

  /** Waits until every named site reports `version` applied and in sync. */
  async waitApplied(sites: string[], version: (site: string) => number, timeoutMs = 30_000): Promise<void> {
    await waitFor(`sites ${sites.join(", ")} to apply their bundles`, async () => {
      const all = await this.op.listSites();
      return sites.every((n) => {
        const s = all.find((x) => x.name === n);
        return s && s.appliedVersion === version(n) && s.state === "in-sync";
      });
    }, timeoutMs);
  }

  async events(site: string, type?: string) {
    return this.op.reports({ site, kind: "event", type, limit: 10_000 });
  }

  async close(): Promise<void> {
    await Promise.all([...this.agents.values()].map((a) => a.kill("SIGKILL")));
    if (this.hub) await this.hub.kill();
    // OUTPOST_KEEP_TEST_DIRS=1 keeps hub and site state for a post-mortem.
    if (!process.env.OUTPOST_KEEP_TEST_DIRS) rmSync(this.dir, { recursive: true, force: true });
  }
}
