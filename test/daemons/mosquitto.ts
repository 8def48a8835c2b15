// Mosquitto 2 on a free loopback port, in a private temp dir, as our child process (stopped by PID).
// As root, mosquitto drops to the `mosquitto` user after reading its config: the temp dir (and the
// dynamic-security JSON, which the plugin rewrites on every change) are chowned to that user. Its log goes
// to stderr, which we redirect into a file we opened, so the log never needs the user's permissions.
import { chownSync, readFileSync, writeFileSync } from "node:fs";
import { userInfo } from "node:os";
import { join } from "node:path";
import { DaemonStartError, freePort, isAlive, logTail, removeDir, requireInstalled, run, spawnDaemon, stopPid, tempDir, waitFor } from "./util.ts";

export const DYNSEC_PLUGIN = "/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so";

export interface MosquittoOptions {
  /** Extra mosquitto.conf lines, written after `listener <port> 127.0.0.1`. Without dynsec and without an
   *  `allow_anonymous` line of its own, `allow_anonymous true` is added. */
  config?: string;
  /** Load the dynamic-security plugin with an admin user (made by `mosquitto_ctrl dynsec init`). Anonymous
   *  clients are then refused. `true` uses admin / a random password. */
  dynsec?: boolean | { adminUser?: string; adminPassword?: string };
  /** Milliseconds to wait for the broker to accept connections (default 10 000). */
  timeoutMs?: number;
  /** A fixed port (restarting a broker where its clients expect it); default a free one. */
  port?: number;
}

export interface MosquittoHandle {
  /** `mqtt://127.0.0.1:<port>` */
  url: string;
  host: string;
  port: number;
  dir: string;
  pid: number;
  configFile: string;
  logFile: string;
  dynsec?: {
    file: string;
    adminUser: string;
    adminPassword: string;
    /** Runs `mosquitto_ctrl -h 127.0.0.1 -p <port> -u admin -P pw dynsec ...args` and returns stdout. */
    ctrl(...args: string[]): Promise<string>;
  };
  /** Stops the broker by PID and removes its dir. Idempotent. */
  stop(): Promise<void>;
}

export async function start(opts: MosquittoOptions = {}): Promise<MosquittoHandle> {
  requireInstalled("Mosquitto", ["mosquitto", "mosquitto_pub", "mosquitto_sub", ...(opts.dynsec ? ["mosquitto_ctrl"] : [])], opts.dynsec ? [DYNSEC_PLUGIN] : []);
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const host = "127.0.0.1";
  const dir = tempDir("mosquitto");
  const configFile = join(dir, "mosquitto.conf");
  const logFile = join(dir, "mosquitto.log");
  const port = opts.port ?? await freePort(host);
  const lines = [`listener ${port} ${host}`, "persistence false", "log_dest stderr", "log_type error", "log_type warning", "log_type notice", "log_type information"];

  let dynsec: MosquittoHandle["dynsec"];
  if (opts.dynsec) {
    const d = typeof opts.dynsec === "object" ? opts.dynsec : {};
    const adminUser = d.adminUser ?? "admin";
    const adminPassword = d.adminPassword ?? `pw-${Math.random().toString(36).slice(2)}`;
    const file = join(dir, "dynamic-security.json");
    await run("mosquitto_ctrl", ["dynsec", "init", file, adminUser, adminPassword]);
    lines.push(`plugin ${DYNSEC_PLUGIN}`, `plugin_opt_config_file ${file}`, "allow_anonymous false");
    dynsec = {
      file, adminUser, adminPassword,
      ctrl: async (...args) => (await run("mosquitto_ctrl", ["-h", host, "-p", String(port), "-u", adminUser, "-P", adminPassword, "dynsec", ...args])).stdout,
    };
  } else if (!/^\s*allow_anonymous\b/m.test(opts.config ?? "")) {
    lines.push("allow_anonymous true");
  }
  if (opts.config) lines.push(opts.config);
  writeFileSync(configFile, lines.join("\n") + "\n");
  dropToMosquittoUser(dir, dynsec?.file);

  const child = spawnDaemon("mosquitto", ["-c", configFile], logFile, { cwd: dir });
  const pid = child.pid!;
  const stop = async () => { await stopPid(pid); removeDir(dir); };
  try {
    await waitFor(`mosquitto on ${host}:${port}`, () => /mosquitto version \S+ running/.test(readFileSync(logFile, "utf8")),
      { timeoutMs, everyMs: 20, abortIf: () => (isAlive(pid) ? undefined : `mosquitto exited (${child.exitCode ?? child.signalCode})`) });
  } catch (e) {
    const tail = logTail(logFile);
    await stop();
    throw new DaemonStartError("mosquitto", (e as Error).message, tail);
  }
  return { url: `mqtt://${host}:${port}`, host, port, dir, pid, configFile, logFile, dynsec, stop };
}

/** As root, mosquitto switches to the `mosquitto` user: give it the dir and the files it writes. */
function dropToMosquittoUser(dir: string, dynsecFile?: string): void {
  if (process.getuid?.() !== 0) return;
  let uid: number, gid: number;
  try {
    const passwd = readFileSync("/etc/passwd", "utf8").split("\n").find((l) => l.startsWith("mosquitto:"));
    if (!passwd) return; // no such user: mosquitto then stays root (it warns), nothing to chown
    const f = passwd.split(":");
    uid = Number(f[2]); gid = Number(f[3]);
  } catch { return; }
  if (userInfo().uid === uid) return;
  chownSync(dir, uid, gid);
  if (dynsecFile) chownSync(dynsecFile, uid, gid);
}
