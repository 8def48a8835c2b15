import { fork, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { setPriority, tmpdir } from "node:os";
import { join } from "node:path";
import type { AgentConfigInput } from "@outpost/agent";
import type { FromWorker, ToWorker, WorkerConfig, WorkerStats } from "./protocol.ts";

/**
 * The fleet simulator (issue 8): thousands of sites in a few processes, each site a real agent —
 * the agent's own sync (HTTPS long-poll or MQTT), trust, reconciler and outbox code with the sim
 * driver, its own Ed25519 key, identity and libSQL state file — not a reimplementation. The sites
 * are spread over `procs` worker processes (worker.ts) that this parent drives over IPC.
 *
 * The state files go on tmpfs when there is one: thousands of simulated sites would otherwise share
 * one disk and its fsyncs, and the figures would measure that disk instead of the hub.
 */
export interface SimulatorOptions {
  hubUrl: string;
  /** A bootstrap token with at least `sites` uses (auto-approving, for a fleet that should run at once). */
  token: string;
  sites: number;
  /** Worker processes (default: one per 1,000 sites). */
  procs?: number;
  prefix?: string;
  /** Agent settings for every site; the defaults are a production-like cadence (55 s long-polls, reports on change and every 5 min). */
  agent?: Partial<AgentConfigInput>;
  /** Sites enrolled at once per process (default 125). */
  batch?: number;
  /** Told how many sites run so far, while they enroll or restart. */
  /** Agents started so far, and (once all are started) how many the hub has approved. */
  onProgress?: (started: number, total: number, approved?: number) => void;
}

export const PRODUCTION_CADENCE: Partial<AgentConfigInput> = {
  longPollSeconds: 55, reportIntervalSeconds: 300, healIntervalSeconds: 300, backoffBaseMs: 500, backoffCapMs: 10_000, logLevel: "silent",
};

type WithoutId<T> = T extends unknown ? Omit<T, "id"> : never;
interface Worker { child: ChildProcess; started: number; approved?: number; pending: Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }> }

export class FleetSimulator {
  readonly dir: string;
  readonly total: number;
  #workers: Worker[] = [];
  #nextId = 1;
  #onProgress: SimulatorOptions["onProgress"];

  private constructor(readonly opts: SimulatorOptions) {
    this.total = opts.sites;
    this.dir = mkdtempSync(join(existsSync("/dev/shm") ? "/dev/shm" : tmpdir(), "outpost-fleet-sim-"));
    this.#onProgress = opts.onProgress;
  }

  get onTmpfs(): boolean { return this.dir.startsWith("/dev/shm"); }
  get pids(): number[] { return this.#workers.map((w) => w.child.pid!); }

  /** Spawns the workers and resolves once every site has enrolled and its agent runs. */
  static async start(opts: SimulatorOptions): Promise<FleetSimulator> {
    const sim = new FleetSimulator(opts);
    try {
      const procs = opts.procs ?? Math.max(1, Math.ceil(opts.sites / 1000));
      const per = Math.ceil(opts.sites / procs);
      const configs: WorkerConfig[] = [];
      for (let p = 0; p * per < opts.sites; p++) {
        configs.push({
          hubUrl: opts.hubUrl, token: opts.token, prefix: opts.prefix ?? "sim-", from: p * per, count: Math.min(per, opts.sites - p * per),
          dir: join(sim.dir, `proc-${p}`), agent: { ...PRODUCTION_CADENCE, ...opts.agent }, batch: opts.batch ?? 125,
        });
      }
      await Promise.all(configs.map(async (config) => {
        const w = await sim.#spawn();
        await sim.#ask(w, { cmd: "init", config });
      }));
      return sim;
    } catch (e) {
      await sim.close();
      throw e;
    }
  }

  async #spawn(): Promise<Worker> {
    // Each agent holds a few descriptors (state file, WAL, shm, sockets): ~1,000 agents per process stays well inside a 20,000 limit.
    const child = fork(join(import.meta.dirname, "worker.ts"), [], { execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] });
    // The simulated sites are the load, the hub is what is measured: on a machine they share, the sites
    // yield the CPU to the hub (nice 10). Unniced, 10 busy workers left the hub 1/11 of two cores: it
    // accepted connections so late that agents' SYNs timed out in its full listen backlog.
    setPriority(child.pid!, 10);
    const w: Worker = { child, started: 0, pending: new Map() };
    this.#workers.push(w);
    await new Promise<void>((resolve, reject) => {
      child.on("message", (m: FromWorker) => {
        if (m.type === "hello") return resolve();
        if (m.type === "progress") {
          w.started = m.started;
          if (m.approved !== undefined) w.approved = m.approved;
          const approved = this.#workers.every((x) => x.approved !== undefined) ? this.#workers.reduce((a, x) => a + x.approved!, 0) : undefined;
          this.#onProgress?.(this.#workers.reduce((a, x) => a + x.started, 0), this.total, approved);
          return;
        }
        const p = w.pending.get(m.id);
        if (!p) return;
        w.pending.delete(m.id);
        if (m.error) p.reject(new Error(`fleet worker ${child.pid}: ${m.error}`)); else p.resolve(m.result);
      });
      child.once("exit", (code, signal) => {
        const err = new Error(`fleet worker ${child.pid} exited (${code ?? signal})`);
        reject(err);
        for (const p of w.pending.values()) p.reject(err);
        w.pending.clear();
      });
    });
    return w;
  }

  #ask<T>(w: Worker, msg: WithoutId<ToWorker>): Promise<T> {
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      if (w.child.exitCode !== null || w.child.signalCode !== null) return reject(new Error(`fleet worker ${w.child.pid} is not running`));
      w.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      w.child.send({ ...msg, id } as ToWorker);
    });
  }

  /** CPU seconds and memory of every worker process. */
  stats(): Promise<WorkerStats[]> { return Promise.all(this.#workers.map((w) => this.#ask<WorkerStats>(w, { cmd: "stats" }))); }

  /** For every site, when (ms since the epoch) its agent first accepted `version` or later; null if not yet. */
  async acceptedTimes(version: number): Promise<(number | null)[]> {
    const all = await Promise.all(this.#workers.map((w) => this.#ask<{ times: (number | null)[] }>(w, { cmd: "accepted", version })));
    return all.flatMap((r) => r.times);
  }

  /**
   * Waits until every site has accepted `version` (or later); returns the acceptance times.
   * Fails, naming how many are missing, after `timeoutMs`.
   */
  async waitAccepted(version: number, timeoutMs: number, onTick?: (held: number) => void): Promise<number[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const times = await this.acceptedTimes(version);
      const held = times.filter((t) => t !== null).length;
      onTick?.(held);
      if (held === times.length) return times as number[];
      if (Date.now() > deadline) throw new Error(`${times.length - held} of ${times.length} sites had not accepted bundle version ${version} after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /** Stops every agent and starts it again (same state directory) with these settings, e.g. another transport. */
  async restart(agent: Partial<AgentConfigInput>): Promise<void> {
    for (const w of this.#workers) w.started = 0;
    await Promise.all(this.#workers.map((w) => this.#ask(w, { cmd: "restart", agent, batch: this.opts.batch ?? 125 })));
  }

  async close(): Promise<void> {
    await Promise.all(this.#workers.map(async (w) => {
      if (w.child.exitCode !== null || w.child.signalCode !== null) return;
      const exited = new Promise<void>((r) => w.child.once("exit", () => r()));
      const kill = setTimeout(() => w.child.kill("SIGKILL"), 30_000);
      await this.#ask(w, { cmd: "close" }).catch(() => w.child.kill("SIGKILL"));
      await exited;
      clearTimeout(kill);
    }));
    rmSync(this.dir, { recursive: true, force: true });
  }
}
