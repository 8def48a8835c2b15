// Small helpers shared by the daemon harnesses in test/daemons/ (and only them).
import { execFile, spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import { existsSync, mkdtempSync, openSync, closeSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const INSTALL_HINT = "run `bash test/daemons/install.sh` (as root) to install the test daemons";

/** Thrown when a daemon binary is missing: the message says how to install it. */
export class NotInstalledError extends Error {
  constructor(daemon: string, missing: string[]) {
    super(`${daemon} is not installed (missing: ${missing.join(", ")}): ${INSTALL_HINT}`);
    this.name = "NotInstalledError";
  }
}

/** Thrown when a daemon does not come up: carries the tail of its log. */
export class DaemonStartError extends Error {
  constructor(daemon: string, reason: string, logTailText: string) {
    super(`${daemon} failed to start: ${reason}${logTailText ? `\n--- ${daemon} log tail ---\n${logTailText}` : ""}`);
    this.name = "DaemonStartError";
  }
}

const SEARCH_PATH = [...(process.env.PATH ?? "").split(":"), "/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];

/** Absolute path of an executable on PATH (plus the sbin dirs), or undefined. */
export function which(cmd: string): string | undefined {
  if (cmd.includes("/")) return existsSync(cmd) ? cmd : undefined;
  for (const dir of SEARCH_PATH) {
    if (!dir) continue;
    const p = join(dir, cmd);
    try { if (statSync(p).isFile()) return p; } catch { /* not here */ }
  }
  return undefined;
}

/** Fails with a NotInstalledError naming every missing command (or file). */
export function requireInstalled(daemon: string, commands: string[], files: string[] = []): void {
  const missing = [...commands.filter((c) => !which(c)), ...files.filter((f) => !existsSync(f))];
  if (missing.length) throw new NotInstalledError(daemon, missing);
}

/** OUTPOST_KEEP_DAEMON_DIRS=1 keeps each daemon's temp dir (data, logs) after stop or a failed start. */
export const KEEP_DIRS = process.env.OUTPOST_KEEP_DAEMON_DIRS === "1";

/** Removes a daemon's temp dir unless OUTPOST_KEEP_DAEMON_DIRS=1. */
export function removeDir(dir: string): void { if (!KEEP_DIRS) rmSync(dir, { recursive: true, force: true }); }

/** A fresh private directory under the OS temp dir (short, so unix socket paths stay under 108 bytes). */
export function tempDir(name: string): string { return mkdtempSync(join(tmpdir(), `outpost-${name}-`)); }

/** A TCP port that was free on `host` a moment ago (bind to 0, read, close). */
export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once("error", reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => (port ? resolve(port) : reject(new Error("could not read the bound port"))));
    });
  });
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface WaitOptions {
  timeoutMs?: number;
  everyMs?: number;
  /** Checked before each attempt: a string stops the wait at once with that reason (e.g. "process exited"). */
  abortIf?: () => string | undefined;
}

/** Polls `fn` until it returns a truthy value; fails with the last value or error seen, never hangs. */
export async function waitFor<T>(what: string, fn: () => Promise<T> | T, opts: WaitOptions = {}): Promise<NonNullable<T>> {
  const { timeoutMs = 30_000, everyMs = 100, abortIf } = opts;
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    const abort = abortIf?.();
    if (abort) throw new Error(`gave up waiting for ${what}: ${abort}; last: ${describe(last)}`);
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
      last = v;
    } catch (e) { last = e; }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${describe(last)}`);
    await sleep(everyMs);
  }
}

function describe(v: unknown): string {
  if (v instanceof Error) return v.message;
  try { return JSON.stringify(v) ?? String(v); } catch { return String(v); }
}

export interface RunResult { stdout: string; stderr: string }

/** Runs a command to completion; rejects with its exit status and output when it fails. */
export function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number; cwd?: string } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, {
      env: opts.env ? { ...process.env, ...opts.env } : process.env,
      cwd: opts.cwd,
      timeout: opts.timeoutMs ?? 60_000,
      maxBuffer: 64 * 1024 * 1024,
      encoding: "utf8",
    }, (err, stdout, stderr) => {
      if (err) {
        const e = err as NodeJS.ErrnoException & { code?: number | string; signal?: string; killed?: boolean };
        const why = e.killed ? `killed (${e.signal ?? "timeout"})` : `exit ${e.code ?? e.signal}`;
        const out = `${stderr}${stdout}`.trim().slice(-4000);
        reject(Object.assign(new Error(`${cmd} ${args.join(" ")}: ${why}${out ? `\n${out}` : ""}`), { stdout, stderr, exitCode: e.code }));
      } else resolve({ stdout, stderr });
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    else child.stdin?.end();
  });
}

/** Like `run` but resolves with the exit code instead of rejecting (for commands expected to fail). */
export function runStatus(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<RunResult & { code: number | null }> {
  return run(cmd, args, opts).then(
    (r) => ({ ...r, code: 0 }),
    (e: { stdout?: string; stderr?: string; exitCode?: number | string }) => {
      if (typeof e.exitCode !== "number") throw e;
      return { stdout: e.stdout ?? "", stderr: e.stderr ?? "", code: e.exitCode };
    },
  );
}

/** The last `lines` lines of a text file ("" if it does not exist). */
export function logTail(path: string, lines = 40): string {
  try { return readFileSync(path, "utf8").split("\n").slice(-lines - 1).join("\n").trimEnd(); } catch { return ""; }
}

/**
 * A foreground daemon whose stdout+stderr go to `logFile`. `detached` puts it in its own session, so it
 * outlives the test process (used for machine-wide daemons like LXD); otherwise it is our child.
 */
export function spawnDaemon(cmd: string, args: string[], logFile: string, opts: { env?: NodeJS.ProcessEnv; cwd?: string; detached?: boolean } = {}): ChildProcess {
  const fd = openSync(logFile, "a");
  const spawnOpts: SpawnOptions = {
    env: opts.env ? { ...process.env, ...opts.env } : process.env,
    cwd: opts.cwd,
    stdio: ["ignore", fd, fd],
    detached: opts.detached ?? false,
  };
  try {
    const child = spawn(cmd, args, spawnOpts);
    child.on("error", () => { /* surfaced through exitCode / the log; keeps an ENOENT from crashing the worker */ });
    if (opts.detached) child.unref();
    else track(child.pid);
    return child;
  } finally { closeSync(fd); }
}

// Daemons started by this process (not the detached, machine-wide ones): if the test worker exits without
// stopping them (a crash, a timeout), they are killed on the way out rather than left running.
const tracked = new Set<number>();
let exitHookInstalled = false;
export function track(pid: number | undefined): void {
  if (!pid) return;
  tracked.add(pid);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once("exit", () => { for (const p of tracked) { try { process.kill(p, "SIGKILL"); } catch { /* gone */ } } });
  }
}
export function untrack(pid: number | undefined): void { if (pid) tracked.delete(pid); }

/** True while a process exists and is not a zombie. */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch { return false; }
}

/** SIGTERM, wait up to `graceMs`, then SIGKILL and wait again. Resolves once the PID is gone. */
export async function stopPid(pid: number | undefined, graceMs = 10_000, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  if (!pid) return;
  untrack(pid);
  if (!isAlive(pid)) return;
  try { process.kill(pid, signal); } catch { return; }
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(25);
  if (!isAlive(pid)) return;
  try { process.kill(pid, "SIGKILL"); } catch { return; }
  const hard = Date.now() + 5_000;
  while (isAlive(pid) && Date.now() < hard) await sleep(25);
  if (isAlive(pid)) throw new Error(`process ${pid} survived SIGKILL`);
}

/** Live (non-zombie) processes whose command line contains `needle`, e.g. a daemon's temp dir. */
export function processesMatching(needle: string): { pid: number; cmdline: string }[] {
  const out: { pid: number; cmdline: string }[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (pid === process.pid) continue;
    let cmdline: string;
    try { cmdline = readFileSync(`/proc/${name}/cmdline`, "utf8").replace(/\0/g, " ").trim(); } catch { continue; }
    if (cmdline.includes(needle) && isAlive(pid)) out.push({ pid, cmdline });
  }
  return out;
}
