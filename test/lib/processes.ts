import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const REPO = resolve(import.meta.dirname, "../..");
const CLI = join(REPO, "bin/outpost.js");

export function tempDir(prefix: string): string { return mkdtempSync(join(tmpdir(), `outpost-${prefix}-`)); }

/** A real `outpost` process, its output captured so a failing test can show what it said. */
export class OutpostProcess {
  readonly output: string[] = [];
  private exited: Promise<number | null>;
  constructor(readonly name: string, readonly child: ChildProcess) {
    child.stdout!.setEncoding("utf8").on("data", (d: string) => this.output.push(d));
    child.stderr!.setEncoding("utf8").on("data", (d: string) => this.output.push(d));
    this.exited = new Promise((res) => child.once("exit", (code) => res(code)));
  }
  get alive(): boolean { return this.child.exitCode === null && this.child.signalCode === null; }
  text(): string { return this.output.join(""); }

  /** Resolves with the first match of `re` in the output (stdout + stderr), or fails naming what it saw. */
  async waitForOutput(re: RegExp, timeoutMs = 30_000): Promise<RegExpExecArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = re.exec(this.text());
      if (m) return m;
      if (!this.alive) throw new Error(`${this.name} exited (${this.child.exitCode ?? this.child.signalCode}) before printing ${re}:\n${this.text().slice(-4000)}`);
      if (Date.now() > deadline) throw new Error(`${this.name} did not print ${re} within ${timeoutMs} ms:\n${this.text().slice(-4000)}`);
      await sleep(25);
    }
  }

  async kill(signal: NodeJS.Signals = "SIGTERM", timeoutMs = 10_000): Promise<void> {
    if (!this.alive) return;
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill("SIGKILL"), timeoutMs);
    await this.exited;
    clearTimeout(timer);
  }
}

export interface SpawnOptions {
  /** A command that runs the process inside it (e.g. `faketime -f +1h`, an `unshare` that gives it its own /etc/hosts). */
  wrap?: string[];
  /** Node options before the CLI (e.g. `--cpu-prof` for a benchmark's profile of the hub). */
  nodeArgs?: string[];
}

export function spawnOutpost(name: string, args: string[], env: Record<string, string | undefined> = {}, opts: SpawnOptions = {}): OutpostProcess {
  const [cmd, ...pre] = [...(opts.wrap ?? []), process.execPath, ...(opts.nodeArgs ?? []), CLI, ...args] as [string, ...string[]];
  const child = spawn(cmd, pre, {
    cwd: REPO,
    env: { ...process.env, OUTPOST_LOG_LEVEL: process.env.OUTPOST_TEST_LOG_LEVEL ?? "warn", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  return new OutpostProcess(name, child);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it returns a truthy value; fails with the last value/error seen, never hangs. */
export async function waitFor<T>(what: string, fn: () => Promise<T> | T, timeoutMs = 30_000, everyMs = 100): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
      last = v;
    } catch (e) { last = e; }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${last instanceof Error ? last.message : JSON.stringify(last)}`);
    await sleep(everyMs);
  }
}
