import { rmSync } from "node:fs";
import { join } from "node:path";
import { loadConfig, startAgent, setSimFaults, type AgentConfigInput, type RunningAgent } from "@outpost/agent";
import { tempDir } from "./processes.ts";

/**
 * Many sim-driver agents in ONE process, each with the agent's real code, its own state directory
 * (key, identity, libSQL state file) and its own loops: what a fleet of real sites does, at a cost
 * a test or a benchmark on two cores can pay. `stop` and `start` again take a site offline and
 * bring it back with the same state directory; `setFaults` makes its sim driver fail.
 */
export interface SimFleetOptions {
  /** Defaults suited to tests: fast reports and heals, short long-polls, quiet logs. */
  agent?: Partial<AgentConfigInput>;
  dir?: string;
  /** Told each time a site's agent accepts (verified and stored) a bundle. */
  onAccepted?: (site: string, version: number) => void;
}

export class SimFleet {
  readonly dir: string;
  private readonly running = new Map<string, RunningAgent>();
  private readonly configs = new Map<string, AgentConfigInput>();

  constructor(private readonly hubUrl: () => string, private readonly opts: SimFleetOptions = {}) {
    this.dir = opts.dir ?? tempDir("sim-fleet");
  }

  stateDir(site: string): string { return join(this.dir, site); }
  get names(): string[] { return [...this.configs.keys()]; }
  isRunning(site: string): boolean { return this.running.has(site); }

  /** Enrolls and starts one agent per site (in parallel batches), each with its own labels. */
  async add(sites: { name: string; labels?: Record<string, string> }[], enrollToken: string, batch = 25): Promise<void> {
    for (let i = 0; i < sites.length; i += batch) {
      await Promise.all(sites.slice(i, i + batch).map(async (s) => {
        this.configs.set(s.name, {
          hubUrl: this.hubUrl(), site: s.name, stateDir: this.stateDir(s.name), enrollToken, labels: s.labels ?? {}, driver: "sim",
          longPollSeconds: 5, healIntervalSeconds: 1, reportIntervalSeconds: 1, logLevel: "silent",
          backoffBaseMs: 200, backoffCapMs: 2000, stepRetryBaseMs: 20, stepMaxAttempts: 2, quarantineBaseSeconds: 5,
          ...this.opts.agent,
        });
        await this.start(s.name);
      }));
    }
  }

  async start(site: string): Promise<void> {
    const input = this.configs.get(site);
    if (!input) throw new Error(`no site ${site} in this fleet`);
    if (this.running.has(site)) return;
    const onAccepted = this.opts.onAccepted;
    this.running.set(site, await startAgent(loadConfig({ env: {}, overrides: { ...input, hubUrl: this.hubUrl() } }),
      onAccepted ? { onBundleAccepted: (v) => onAccepted(site, v) } : {}));
  }

  /** Changes a site's agent settings (e.g. its transport) for its next start. */
  reconfigure(site: string, agent: Partial<AgentConfigInput>): void {
    const input = this.configs.get(site);
    if (!input) throw new Error(`no site ${site} in this fleet`);
    this.configs.set(site, { ...input, ...agent });
  }

  async stop(site: string): Promise<void> {
    const a = this.running.get(site);
    this.running.delete(site);
    await a?.stop();
  }

  /** Object names whose apply the site's sim driver fails from now on ([] clears). */
  setFaults(site: string, names: string[]): Promise<void> { return setSimFaults(this.stateDir(site), names); }

  async close(opts: { remove?: boolean } = { remove: true }): Promise<void> {
    await Promise.all([...this.running.keys()].map((s) => this.stop(s)));
    if (opts.remove !== false) rmSync(this.dir, { recursive: true, force: true });
  }
}
