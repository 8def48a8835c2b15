// A single-node Ceph cluster (one mon, one mgr, one memstore OSD) in a private temp dir, no systemd.
// Every daemon runs in the foreground (-f) as our child and is stopped by PID. Clients use the returned
// `conf` (or `env`, which sets CEPH_CONF): `ceph -c <conf> -s --format json`, `rbd -c <conf> ls`.
import { randomUUID } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ChildProcess } from "node:child_process";
import { DaemonStartError, freePort, isAlive, logTail, removeDir, requireInstalled, run, spawnDaemon, stopPid, tempDir, waitFor } from "./util.ts";

export interface CephOptions {
  /** Memstore size of the OSD in bytes (default 1 GiB; memory is only used as data is written). */
  osdBytes?: number;
  /** Milliseconds to wait for HEALTH_OK + all PGs active+clean (default 60 000). */
  timeoutMs?: number;
}

export interface CephHandle {
  dir: string;
  /** ceph.conf: pass as `-c <conf>` (or use `env`). */
  conf: string;
  /** The client.admin keyring (also named under [client] in `conf`). */
  keyring: string;
  /** `{ CEPH_CONF: conf }`, for spawning `ceph` / `rbd` without `-c`. */
  env: NodeJS.ProcessEnv;
  fsid: string;
  /** `v2:127.0.0.1:<port>` of the monitor. */
  monAddr: string;
  pids: { mon: number; mgr: number; osd: number };
  logDir: string;
  /** Runs `ceph -c <conf> ...args --format json` and parses the output (undefined for empty output). */
  cephJson<T = unknown>(...args: string[]): Promise<T>;
  /** Stops osd, mgr, mon (by PID) and removes the dir. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Health checks tolerated while waiting. Empty: the configuration below silences the usual single-node
 * warnings (POOL_NO_REDUNDANCY via `mon warn on pool no redundancy = false`, AUTH_INSECURE_GLOBAL_ID_RECLAIM_ALLOWED
 * via `auth allow insecure global id reclaim = false`), so the cluster reaches HEALTH_OK.
 */
export const HARMLESS_HEALTH_CHECKS: readonly string[] = [];

interface CephStatus {
  health: { status: string; checks: Record<string, { summary?: { message?: string } }> };
  pgmap: { num_pgs: number; pgs_by_state?: { state_name: string; count: number }[] };
  osdmap: { num_osds: number; num_up_osds: number; num_in_osds: number };
  mgrmap?: { available: boolean };
}

export async function start(opts: CephOptions = {}): Promise<CephHandle> {
  requireInstalled("Ceph", ["ceph-mon", "ceph-mgr", "ceph-osd", "ceph", "ceph-authtool", "monmaptool", "rbd"]);
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const dir = tempDir("ceph");
  const fsid = randomUUID();
  const port = await freePort();
  const monAddr = `v2:127.0.0.1:${port}`;
  const logDir = join(dir, "log");
  const runDir = join(dir, "run");
  for (const d of [logDir, runDir, join(dir, "mon"), join(dir, "mgr", "ceph-x"), join(dir, "osd", "ceph-0"), join(dir, "crash")]) mkdirSync(d, { recursive: true });
  const conf = join(dir, "ceph.conf");
  const keyring = join(dir, "client.admin.keyring");
  const monKeyring = join(dir, "mon.keyring");
  writeFileSync(conf, `[global]
fsid = ${fsid}
mon host = [${monAddr}]
mon initial members = a
public addr = 127.0.0.1
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
auth allow insecure global id reclaim = false
run dir = ${runDir}
pid file = ${runDir}/$name.pid
admin socket = ${runDir}/$cluster-$name.asok
log file = ${logDir}/$cluster-$name.log
mon cluster log file = ${logDir}/$cluster.log
crash dir = ${join(dir, "crash")}
mon data = ${dir}/mon/$cluster-$id
mgr data = ${dir}/mgr/$cluster-$id
osd data = ${dir}/osd/$cluster-$id
osd objectstore = memstore
memstore device bytes = ${opts.osdBytes ?? 1024 * 1024 * 1024}
osd pool default size = 1
osd pool default min size = 1
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
# The mon data lives in the temp dir: a fuller /tmp must not turn the cluster HEALTH_WARN (MON_DISK_LOW).
mon data avail warn = 1
# Faster convergence for a throwaway cluster: PG stats reach the mgr every second instead of every 5 s,
# and the monitor commits map changes after 0.1 s instead of 1 s.
osd mon report interval = 1
mgr stats period = 1
paxos propose interval = 0.1

# The admin keyring is for clients only: under [global] it would replace the daemons' own keyrings.
[client]
keyring = ${keyring}
`);
  const env: NodeJS.ProcessEnv = { CEPH_CONF: conf };
  const ceph = async (...args: string[]) => (await run("ceph", ["-c", conf, "--connect-timeout", "10", ...args], { timeoutMs: 30_000 })).stdout;
  const children: { name: string; child: ChildProcess; log: string }[] = [];
  const stopAll = async () => { for (const c of [...children].reverse()) await stopPid(c.child.pid, 15_000); };
  const fail = async (what: string, e: unknown, log: string): Promise<never> => {
    const tail = logTail(log, 30);
    await stopAll();
    removeDir(dir);
    throw new DaemonStartError(`ceph (${what})`, (e as Error).message, tail);
  };
  const daemon = (name: string, args: string[]) => {
    const log = join(logDir, `ceph-${name}.log`);
    const child = spawnDaemon(args[0]!, [...args.slice(1), "-c", conf, "-f"], join(logDir, `${name}.stdout`));
    children.push({ name, child, log });
    return { child, log, alive: () => (child.pid && isAlive(child.pid) ? undefined : `${args[0]} exited (${child.exitCode ?? child.signalCode}); stdout: ${logTail(join(logDir, `${name}.stdout`), 10)}`) };
  };

  // Keys: mon. and client.admin; the mon keyring carries both.
  await run("ceph-authtool", ["--create-keyring", monKeyring, "--gen-key", "-n", "mon.", "--cap", "mon", "allow *"]);
  await run("ceph-authtool", ["--create-keyring", keyring, "--gen-key", "-n", "client.admin",
    "--cap", "mon", "allow *", "--cap", "osd", "allow *", "--cap", "mds", "allow *", "--cap", "mgr", "allow *"]);
  await run("ceph-authtool", [monKeyring, "--import-keyring", keyring]);

  // Monitor.
  const monmap = join(dir, "monmap");
  await run("monmaptool", ["--create", "--addv", "a", `[${monAddr}]`, "--fsid", fsid, monmap]);
  await run("ceph-mon", ["-c", conf, "--mkfs", "-i", "a", "--monmap", monmap, "--keyring", monKeyring]);
  const mon = daemon("mon.a", ["ceph-mon", "-i", "a"]);
  try {
    await waitFor("ceph-mon to answer", () => ceph("mon", "stat"), { timeoutMs: 20_000, everyMs: 200, abortIf: mon.alive });
  } catch (e) { await fail("mon", e, mon.log); }

  // Manager.
  await ceph("auth", "get-or-create", "mgr.x", "mon", "allow profile mgr", "osd", "allow *", "mds", "allow *", "-o", join(dir, "mgr", "ceph-x", "keyring"));
  const mgr = daemon("mgr.x", ["ceph-mgr", "-i", "x"]);

  // One OSD: register it with a fresh cephx secret, mkfs, start.
  const osdUuid = randomUUID();
  const secret = (await run("ceph-authtool", ["--gen-print-key"])).stdout.trim();
  const osdId = (await run("ceph", ["-c", conf, "osd", "new", osdUuid, "-i", "-"], { input: JSON.stringify({ cephx_secret: secret }) })).stdout.trim();
  if (osdId !== "0") await fail("osd", new Error(`expected OSD id 0, got ${JSON.stringify(osdId)}`), mon.log);
  writeFileSync(join(dir, "osd", "ceph-0", "keyring"), `[osd.0]\n\tkey = ${secret}\n`);
  try {
    await run("ceph-osd", ["-c", conf, "-i", "0", "--mkfs", "--osd-uuid", osdUuid]);
  } catch (e) { await fail("osd mkfs", e, join(logDir, "ceph-osd.0.log")); }
  const osd = daemon("osd.0", ["ceph-osd", "-i", "0"]);

  // Ready: mgr available, the OSD up and in, HEALTH_OK and every PG active+clean.
  let last: CephStatus | undefined;
  try {
    await waitFor("HEALTH_OK with all PGs active+clean", async () => {
      last = JSON.parse(await ceph("-s", "--format", "json")) as CephStatus;
      return healthy(last);
    }, { timeoutMs, everyMs: 250, abortIf: () => mon.alive() ?? mgr.alive() ?? osd.alive() });
  } catch (e) {
    const dead = mon.alive() ? mon : mgr.alive() ? mgr : osd.alive() ? osd : undefined;
    const detail = last ? ` (health ${last.health.status}: ${Object.entries(last.health.checks).map(([k, v]) => `${k}: ${v.summary?.message ?? ""}`).join("; ") || "no checks"}; pgs ${JSON.stringify(last.pgmap.pgs_by_state ?? [])})` : "";
    await fail(dead ? dead.log.replace(/.*ceph-(.*)\.log$/, "$1") : "health", new Error(`${(e as Error).message}${detail}`), (dead ?? osd).log);
  }

  return {
    dir, conf, keyring, env, fsid, monAddr, logDir,
    pids: { mon: mon.child.pid!, mgr: mgr.child.pid!, osd: osd.child.pid! },
    cephJson: async <T>(...args: string[]) => {
      const out = (await ceph(...args, "--format", "json")).trim();
      return (out ? JSON.parse(out) : undefined) as T;
    },
    stop: async () => { await stopAll(); removeDir(dir); },
  };
}

function healthy(s: CephStatus): boolean {
  const checks = Object.keys(s.health.checks);
  const healthOk = s.health.status === "HEALTH_OK" || (s.health.status === "HEALTH_WARN" && checks.every((c) => HARMLESS_HEALTH_CHECKS.includes(c)));
  const osdsOk = s.osdmap.num_osds === 1 && s.osdmap.num_up_osds === 1 && s.osdmap.num_in_osds === 1;
  const pgsOk = (s.pgmap.pgs_by_state ?? []).every((p) => p.state_name === "active+clean")
    && (s.pgmap.pgs_by_state ?? []).reduce((n, p) => n + p.count, 0) === s.pgmap.num_pgs;
  return healthOk && osdsOk && pgsOk && s.mgrmap?.available !== false;
}
