// OVN Northbound ovsdb-server (optionally Southbound + ovn-northd) in a private temp dir, on unix sockets
// (and optionally loopback TCP). Every process is our child, run in the foreground and stopped by PID.
//
// Trap for users of the connection: an OVSDB `select` that names only some columns merges rows that look
// identical in those columns. Always include "_uuid" in "columns".
import type { ChildProcess } from "node:child_process";
import { join } from "node:path";
import { DaemonStartError, freePort, isAlive, logTail, removeDir, requireInstalled, run, spawnDaemon, stopPid, tempDir, waitFor } from "./util.ts";

export interface OvnOptions {
  /** Also run the Southbound database (default false). */
  southbound?: boolean;
  /** Also run ovn-northd between NB and SB (implies southbound; default false). */
  northd?: boolean;
  /** Also listen on loopback TCP (a free port per database; default false). */
  tcp?: boolean;
  /** Milliseconds to wait for each process to answer (default 10 000). */
  timeoutMs?: number;
}

export interface OvnHandle {
  dir: string;
  /** Unix socket path of the Northbound database. */
  nbSocket: string;
  /** `unix:<nbSocket>`, for `ovn-nbctl --db=` / `ovsdb-client`. */
  nbRemote: string;
  /** `tcp:127.0.0.1:<port>` when `tcp` was asked for. */
  nbTcpRemote?: string;
  sbSocket?: string;
  sbRemote?: string;
  sbTcpRemote?: string;
  pids: { nb: number; sb?: number; northd?: number };
  logs: { nb: string; sb?: string; northd?: string };
  /** Environment that keeps OVS/OVN tools' run/log dirs inside `dir`. */
  env: NodeJS.ProcessEnv;
  /** Runs `ovn-nbctl --db=<nbRemote> ...args` and returns its stdout. */
  nbctl(...args: string[]): Promise<string>;
  /** Stops every process (northd first), by PID, and removes `dir`. Idempotent. */
  stop(): Promise<void>;
}

const NB_SCHEMA = "/usr/share/ovn/ovn-nb.ovsschema";
const SB_SCHEMA = "/usr/share/ovn/ovn-sb.ovsschema";

export async function start(opts: OvnOptions = {}): Promise<OvnHandle> {
  const withNorthd = opts.northd ?? false;
  const withSb = withNorthd || (opts.southbound ?? false);
  requireInstalled("OVN", ["ovsdb-server", "ovsdb-tool", "ovsdb-client", "ovn-nbctl", ...(withNorthd ? ["ovn-northd"] : [])], [NB_SCHEMA, ...(withSb ? [SB_SCHEMA] : [])]);
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const dir = tempDir("ovn");
  const env: NodeJS.ProcessEnv = { OVS_RUNDIR: dir, OVS_LOGDIR: dir, OVS_DBDIR: dir, OVN_RUNDIR: dir, OVN_LOGDIR: dir, OVN_DBDIR: dir };
  const children: ChildProcess[] = [];
  const stopAll = async () => { for (const c of [...children].reverse()) await stopPid(c.pid); removeDir(dir); };

  const startDb = async (name: "nb" | "sb", schema: string) => {
    const db = join(dir, `${name}.db`);
    const sock = join(dir, `${name}.sock`);
    const log = join(dir, `${name}.log`);
    await run("ovsdb-tool", ["create", db, schema], { env });
    const args = [db, `--remote=punix:${sock}`, `--unixctl=${join(dir, `${name}.ctl`)}`, `--pidfile=${join(dir, `${name}.pid`)}`,
      `--log-file=${log}`, "--no-chdir", "-vconsole:off"];
    let tcpRemote: string | undefined;
    if (opts.tcp) {
      const port = await freePort();
      args.push(`--remote=ptcp:${port}:127.0.0.1`);
      tcpRemote = `tcp:127.0.0.1:${port}`;
    }
    const child = spawnDaemon("ovsdb-server", args, log, { env });
    children.push(child);
    try {
      await waitFor(`ovsdb-server (${name}) on ${sock}`, async () => (await run("ovsdb-client", ["list-dbs", `unix:${sock}`], { env, timeoutMs: 2_000 })).stdout.trim(),
        { timeoutMs, everyMs: 20, abortIf: () => (child.pid && isAlive(child.pid) ? undefined : `ovsdb-server exited (${child.exitCode ?? child.signalCode})`) });
    } catch (e) {
      const tail = logTail(log);
      await stopAll();
      throw new DaemonStartError(`ovsdb-server (${name})`, (e as Error).message, tail);
    }
    return { sock, log, pid: child.pid!, tcpRemote };
  };

  const nb = await startDb("nb", NB_SCHEMA);
  const handle: OvnHandle = {
    dir, env,
    nbSocket: nb.sock,
    nbRemote: `unix:${nb.sock}`,
    nbTcpRemote: nb.tcpRemote,
    pids: { nb: nb.pid },
    logs: { nb: nb.log },
    nbctl: async (...args) => (await run("ovn-nbctl", [`--db=unix:${nb.sock}`, ...args], { env })).stdout,
    stop: stopAll,
  };
  if (!withSb) return handle;

  const sb = await startDb("sb", SB_SCHEMA);
  Object.assign(handle, { sbSocket: sb.sock, sbRemote: `unix:${sb.sock}`, sbTcpRemote: sb.tcpRemote });
  handle.pids.sb = sb.pid;
  handle.logs.sb = sb.log;
  if (!withNorthd) return handle;

  const log = join(dir, "northd.log");
  const northd = spawnDaemon("ovn-northd", [`--ovnnb-db=unix:${nb.sock}`, `--ovnsb-db=unix:${sb.sock}`, `--unixctl=${join(dir, "northd.ctl")}`,
    `--pidfile=${join(dir, "northd.pid")}`, `--log-file=${log}`, "--no-chdir", "-vconsole:off"], log, { env });
  children.push(northd);
  handle.pids.northd = northd.pid;
  handle.logs.northd = log;
  try {
    // northd is ready once it has written its first pass into SB (the SB_Global row appears).
    await waitFor("ovn-northd to connect NB and SB", async () => {
      const out = (await run("ovsdb-client", ["transact", `unix:${sb.sock}`, JSON.stringify(["OVN_Southbound", { op: "select", table: "SB_Global", where: [], columns: ["_uuid"] }])], { env, timeoutMs: 2_000 })).stdout;
      return (JSON.parse(out) as { rows: unknown[] }[])[0]!.rows.length > 0;
    }, { timeoutMs, everyMs: 50, abortIf: () => (northd.pid && isAlive(northd.pid) ? undefined : `ovn-northd exited (${northd.exitCode ?? northd.signalCode})`) });
  } catch (e) {
    const tail = logTail(log);
    await stopAll();
    throw new DaemonStartError("ovn-northd", (e as Error).message, tail);
  }
  return handle;
}
