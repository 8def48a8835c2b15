// LXD for tests. LXD is a machine-wide daemon (its state lives in /var/lib/lxd), so it is started at most
// once per machine, detached from the test process, and shared: `ensureLxd()` starts it only when the unix
// socket does not answer, and tests clean up what they made with `cleanupLxd(prefix)`. `shutdownLxd()`
// (`lxd shutdown`, which also stops its containers; SIGTERM would leave them running) is for whoever knows
// nothing else is using it, e.g. the test that started it.
import { createHash, randomBytes } from "node:crypto";
import { request } from "node:http";
import { chmodSync, copyFileSync, mkdirSync, readFileSync, readlinkSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DaemonStartError, isAlive, logTail, removeDir, requireInstalled, run, sleep, spawnDaemon, tempDir, waitFor, which } from "./util.ts";

export const LXD_SOCKET = "/var/lib/lxd/unix.socket";

/** The log dir of the LXD this process started, removed by shutdownLxd (unless OUTPOST_KEEP_DAEMON_DIRS=1). */
let startedLogDir: string | undefined;

export interface LxdHandle {
  /** The LXD unix socket (use with node:http `socketPath`, or `curl --unix-socket`). */
  socket: string;
  /** True when this call started the daemon (it then keeps running after the test process exits). */
  startedHere: boolean;
  /** PID of the daemon. */
  pid?: number;
  /** LXD's log file when this call started it. */
  logFile?: string;
}

/** Starts LXD if its socket does not answer, waits until ready, makes sure the `default` storage pool (dir
 *  driver) and the `default` profile's root disk exist. Safe to call from many tests. */
export async function ensureLxd(opts: { timeoutMs?: number } = {}): Promise<LxdHandle> {
  // nftables + iptables must be present before lxd starts, and dnsmasq when a network is created.
  requireInstalled("LXD", ["lxd", "lxc", "nft", "iptables", "dnsmasq"]);
  const timeoutMs = opts.timeoutMs ?? 60_000;
  let startedHere = false;
  let logFile: string | undefined;
  if (!(await answers())) {
    const dir = tempDir("lxd");
    logFile = join(dir, "lxd.log");
    const child = spawnDaemon("lxd", ["--group", "lxd", `--logfile=${logFile}`], join(dir, "lxd.stdout"), { detached: true });
    try {
      // Another test may have started LXD at the same moment: then ours exits and theirs answers.
      await waitFor(`lxd on ${LXD_SOCKET}`, () => answers(), {
        timeoutMs, everyMs: 50,
        abortIf: () => (child.pid && isAlive(child.pid)) ? undefined : `lxd exited (${child.exitCode ?? child.signalCode}); stdout: ${logTail(join(dir, "lxd.stdout"), 10)}`,
      });
    } catch (e) {
      if (!(await answers())) throw new DaemonStartError("lxd", (e as Error).message, logTail(logFile));
    }
    startedHere = child.pid !== undefined && isAlive(child.pid);
    if (startedHere) startedLogDir = dir; else removeDir(dir);
    await run("lxd", ["waitready", `--timeout=${Math.ceil(timeoutMs / 1000)}`], { timeoutMs: timeoutMs + 5_000 });
  }
  await preseed();
  return { socket: LXD_SOCKET, startedHere, pid: lxdDaemonPids()[0], logFile };
}

/**
 * LXD is one daemon for the whole machine, and a driver owns every object marked
 * `user.outpost.owned=true` in it: two test files converging sites at once would each plan to delete
 * the other's objects. Files that let a driver loose on LXD take this machine-wide lock (an atomic
 * mkdir holding the owner's PID; a lock whose owner died is taken over) and release it when done.
 */
export async function holdLxd(who: string, timeoutMs = 600_000): Promise<() => void> {
  const dir = join(tmpdir(), "outpost-lxd-test.lock");
  const owner = join(dir, "owner");
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      mkdirSync(dir);
      writeFileSync(owner, `${process.pid} ${who}\n`);
      return () => { try { if (readFileSync(owner, "utf8").startsWith(`${process.pid} `)) rmSync(dir, { recursive: true, force: true }); } catch { /* gone */ } };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    let holder = "";
    try { holder = readFileSync(owner, "utf8").trim(); } catch { /* being written or removed */ }
    const pid = Number(holder.split(" ")[0]);
    if (holder && !isAlive(pid)) { rmSync(dir, { recursive: true, force: true }); continue; }
    if (Date.now() > deadline) throw new Error(`LXD is held by another test (${holder || "unknown"}) for more than ${timeoutMs} ms`);
    await sleep(250);
  }
}

/** `start()` for uniformity with the other harnesses: ensureLxd() plus a stop() that shuts LXD down only if
 *  this call started it and no instance is left (LXD is shared by the machine). */
export async function start(opts: { timeoutMs?: number } = {}): Promise<LxdHandle & { stop(): Promise<void> }> {
  const h = await ensureLxd(opts);
  return { ...h, stop: async () => { if (h.startedHere) await shutdownLxd({ ifIdle: true }); } };
}

/**
 * `lxd shutdown` (stops its containers too), then waits for the daemon's PID to go (SIGKILL after the
 * grace). With `ifIdle`, does nothing while any instance exists (someone else may be using LXD). Resolves
 * true if LXD is no longer running.
 */
export async function shutdownLxd(opts: { timeoutMs?: number; ifIdle?: boolean } = {}): Promise<boolean> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const pids = lxdDaemonPids();
  if (!pids.length && !(await answers())) return true;
  if (opts.ifIdle && (await lxdGet<string[]>("/1.0/instances").catch(() => [])).length > 0) return false;
  try { await run("lxd", ["shutdown", `--timeout=${Math.ceil(timeoutMs / 1000)}`], { timeoutMs: timeoutMs + 5_000 }); } catch { /* the PID check below decides */ }
  const deadline = Date.now() + 10_000;
  while (pids.some(isAlive) && Date.now() < deadline) await sleep(50);
  for (const pid of pids.filter(isAlive)) { try { process.kill(pid, "SIGKILL"); } catch { /* gone */ } }
  await waitFor("lxd to exit", () => !pids.some(isAlive), { timeoutMs: 5_000, everyMs: 25 });
  if (startedLogDir) { removeDir(startedLogDir); startedLogDir = undefined; }
  return true;
}

const VALUE_FLAGS = new Set(["--group", "--logfile", "--syslog-tag", "--cpu-profile", "--memory-profile", "--print-goroutines-every", "--trace"]);

/** PIDs of running LXD daemons (the `lxd [--flags]` process, not its subcommands or container monitors). */
export function lxdDaemonPids(): number[] {
  const out: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (!readlinkSync(`/proc/${name}/exe`).startsWith(which("lxd") ?? "/usr/bin/lxd")) continue;
      const argv = readFileSync(`/proc/${name}/cmdline`, "utf8").split("\0").filter(Boolean);
      if (argv[0]?.split("/").pop() !== "lxd") continue;
      // The daemon has only flags (`--group lxd`, `--logfile=...`); `lxd waitready`, `lxd forkstart ...` do not.
      const words = argv.slice(1).filter((a, i, all) => !a.startsWith("-") && !VALUE_FLAGS.has(all[i - 1] ?? ""));
      if (words.length === 0 && isAlive(Number(name))) out.push(Number(name));
    } catch { /* not ours to read, or gone */ }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------- REST API

export interface LxdResponse<T = unknown> {
  type: "sync" | "async" | "error";
  status: string;
  status_code: number;
  operation: string;
  error_code: number;
  error: string;
  metadata: T;
}

export class LxdError extends Error {
  constructor(readonly method: string, readonly path: string, readonly httpStatus: number, readonly lxdError: string) {
    super(`LXD ${method} ${path}: ${httpStatus} ${lxdError}`);
    this.name = "LxdError";
  }
}

export interface LxdOperation { id: string; status: string; status_code: number; err: string; metadata: Record<string, unknown> | null; resources: Record<string, string[]> | null }

/** One request on the LXD socket. A plain object body is sent as JSON; a Buffer as-is (`headers` for the
 *  rest). Rejects with LxdError on an HTTP error or an `error` response. */
export function lxdRequest<T = unknown>(method: string, path: string, body?: unknown, opts: { headers?: Record<string, string>; socket?: string; timeoutMs?: number } = {}): Promise<LxdResponse<T>> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string | number> = { ...(payload ? { "content-type": Buffer.isBuffer(body) ? "application/octet-stream" : "application/json", "content-length": payload.length } : {}), ...opts.headers };
    const req = request({ socketPath: opts.socket ?? LXD_SOCKET, method, path, headers, host: "lxd", timeout: opts.timeoutMs ?? 60_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let parsed: LxdResponse<T>;
        try { parsed = JSON.parse(text) as LxdResponse<T>; } catch { return reject(new LxdError(method, path, res.statusCode ?? 0, `non-JSON response: ${text.slice(0, 200)}`)); }
        if ((res.statusCode ?? 0) >= 400 || parsed.type === "error") return reject(new LxdError(method, path, res.statusCode ?? 0, parsed.error || text.slice(0, 200)));
        resolve(parsed);
      });
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`LXD ${method} ${path}: timed out`)));
    req.on("error", reject);
    req.end(payload);
  });
}

/** A sync request's metadata. */
export async function lxdGet<T = unknown>(path: string): Promise<T> { return (await lxdRequest<T>("GET", path)).metadata; }

/** An async request (create, delete, state change, upload), waited for; rejects with the operation's error. */
export async function lxdOperation(method: string, path: string, body?: unknown, opts: { headers?: Record<string, string>; timeoutMs?: number } = {}): Promise<LxdOperation> {
  const res = await lxdRequest<LxdOperation>(method, path, body, opts);
  if (res.type === "sync") return { id: "", status: "Success", status_code: 200, err: "", metadata: res.metadata as unknown as Record<string, unknown>, resources: null };
  const timeoutS = Math.ceil((opts.timeoutMs ?? 120_000) / 1000);
  const op = (await lxdRequest<LxdOperation>("GET", `/1.0/operations/${res.metadata.id}/wait?timeout=${timeoutS}`, undefined, { timeoutMs: (timeoutS + 5) * 1000 })).metadata;
  if (op.status !== "Success") throw new LxdError(method, path, op.status_code, op.err || op.status);
  return op;
}

async function answers(): Promise<boolean> {
  try { return (await lxdRequest<{ api_version?: string }>("GET", "/1.0", undefined, { timeoutMs: 2_000 })).metadata.api_version !== undefined; } catch { return false; }
}

/** What `lxd init --preseed` would set up (`lxd init --auto` fails on this machine: it cannot pick a subnet). */
async function preseed(): Promise<void> {
  const pools = await lxdGet<string[]>("/1.0/storage-pools");
  if (!pools.includes("/1.0/storage-pools/default")) {
    const yaml = ["storage_pools:", "- name: default", "  driver: dir", "profiles:", "- name: default", "  devices:", "    root:", "      path: /", "      pool: default", "      type: disk", ""].join("\n");
    try {
      await run("lxd", ["init", "--preseed"], { input: yaml });
    } catch (e) {
      // A concurrent ensureLxd may have created it between our check and our preseed.
      if (!(await lxdGet<string[]>("/1.0/storage-pools")).includes("/1.0/storage-pools/default")) throw e;
    }
  }
  const profile = await lxdGet<{ devices: Record<string, Record<string, string>> }>("/1.0/profiles/default");
  if (!Object.values(profile.devices).some((d) => d.type === "disk" && d.path === "/")) {
    await lxdRequest("PATCH", "/1.0/profiles/default", { devices: { ...profile.devices, root: { type: "disk", path: "/", pool: "default" } } });
  }
}

// ------------------------------------------------------------------------------------------------ images

export interface BusyboxImage { path: string; sha256: string; size: number }

/**
 * Builds a unified LXD image tarball (metadata.yaml + rootfs/) of busybox-static with its applet symlinks,
 * `sbin/init` -> busybox and a tiny inittab, into `dir`. Does not import it. Each build is unique (its
 * creation_date and a random `build` property differ), so concurrent tests never collide on a fingerprint;
 * the LXD fingerprint of a unified image is the tarball's sha256.
 */
export async function buildBusyboxImage(dir: string): Promise<BusyboxImage> {
  requireInstalled("busybox-static", ["tar", "gzip"], ["/bin/busybox"]);
  const busybox = "/bin/busybox";
  // A dynamically linked busybox (package `busybox`) would not run inside the image: it needs no libc there.
  const binary = readFileSync(busybox);
  if (binary.includes("/lib64/ld-linux")) throw new Error(`${busybox} is dynamically linked: install busybox-static (bash test/daemons/install.sh)`);
  const version = /BusyBox v(\S+)/.exec(binary.toString("latin1"))?.[1] ?? "unknown";
  const work = join(dir, `busybox-image-${randomBytes(4).toString("hex")}`);
  const rootfs = join(work, "rootfs");
  for (const d of ["bin", "sbin", "usr/bin", "usr/sbin", "etc", "dev", "proc", "sys", "tmp", "run", "root", "var/log"]) mkdirSync(join(rootfs, d), { recursive: true });
  chmodSync(join(rootfs, "tmp"), 0o1777);
  copyFileSync(busybox, join(rootfs, "bin/busybox"));
  chmodSync(join(rootfs, "bin/busybox"), 0o755);
  const applets = (await run(busybox, ["--list-full"])).stdout.split("\n").map((s) => s.trim()).filter(Boolean);
  for (const applet of applets) {
    if (applet === "bin/busybox") continue;
    mkdirSync(join(rootfs, applet, ".."), { recursive: true });
    try { symlinkSync("/bin/busybox", join(rootfs, applet)); } catch (e) { if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e; }
  }
  try { statSync(join(rootfs, "sbin/init")); } catch { symlinkSync("/bin/busybox", join(rootfs, "sbin/init")); }
  // Without an inittab busybox init would spawn shells on tty1-4. LXD stops a container with SIGPWR,
  // which busybox init treats as halt (running the shutdown actions).
  writeFileSync(join(rootfs, "etc/inittab"), "::sysinit:/bin/hostname -F /etc/hostname\n::shutdown:/bin/sync\n");
  writeFileSync(join(rootfs, "etc/hostname"), "busybox\n");
  writeFileSync(join(rootfs, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n");
  writeFileSync(join(rootfs, "etc/group"), "root:x:0:\n");
  writeFileSync(join(work, "metadata.yaml"), [
    "architecture: x86_64",
    `creation_date: ${Math.floor(Date.now() / 1000)}`,
    "properties:",
    "  os: busybox",
    `  release: "${version}"`,
    "  description: Outpost test image (busybox-static)",
    `  build: "${randomBytes(8).toString("hex")}"`,
    "",
  ].join("\n"));
  const path = join(dir, `busybox-${randomBytes(4).toString("hex")}.tar.gz`);
  await run("tar", ["-C", work, "--numeric-owner", "--owner=0", "--group=0", "-czf", path, "metadata.yaml", "rootfs"]);
  rmSync(work, { recursive: true, force: true });
  const data = readFileSync(path);
  return { path, sha256: createHash("sha256").update(data).digest("hex"), size: data.length };
}

/** Uploads an image tarball (POST /1.0/images) and gives it `aliases`; `properties.name` (if any) lets
 *  `cleanupLxd` find it even if aliasing never happened. Resolves with the fingerprint. */
export async function importImage(path: string, opts: { aliases?: string[]; properties?: Record<string, string> } = {}): Promise<string> {
  const headers: Record<string, string> = {};
  if (opts.properties) headers["X-LXD-properties"] = new URLSearchParams(opts.properties).toString();
  const op = await lxdOperation("POST", "/1.0/images", readFileSync(path), { headers });
  const fingerprint = String((op.metadata as { fingerprint?: string } | null)?.fingerprint ?? "");
  if (!fingerprint) throw new Error(`LXD image upload of ${path} returned no fingerprint: ${JSON.stringify(op)}`);
  for (const name of opts.aliases ?? []) await lxdRequest("POST", "/1.0/images/aliases", { name, target: fingerprint });
  return fingerprint;
}

// ----------------------------------------------------------------------------------------------- cleanup

export interface CleanupReport { instances: string[]; images: string[]; profiles: string[]; networks: string[]; storagePools: string[]; volumes: string[] }

const tail = (url: string) => decodeURIComponent(url.split("/").pop() ?? "");

/**
 * Deletes what a test made, by name prefix: instances (force-stopped first), images with an alias or a
 * `name` property starting with `prefix`, profiles, managed networks, custom volumes and storage pools.
 * Refuses an empty or too-short prefix so it can never wipe the machine.
 */
export async function cleanupLxd(prefix: string): Promise<CleanupReport> {
  if (prefix.length < 3 || prefix === "default") throw new Error(`cleanupLxd: refusing the prefix ${JSON.stringify(prefix)} (need 3+ characters)`);
  const report: CleanupReport = { instances: [], images: [], profiles: [], networks: [], storagePools: [], volumes: [] };
  const mine = (name: string | undefined) => !!name && name.startsWith(prefix);

  for (const inst of await lxdGet<{ name: string; status: string }[]>("/1.0/instances?recursion=1")) {
    if (!mine(inst.name)) continue;
    if (inst.status !== "Stopped") {
      try { await lxdOperation("PUT", `/1.0/instances/${encodeURIComponent(inst.name)}/state`, { action: "stop", force: true, timeout: 30 }); }
      catch (e) { if (!/already stopped|not running/i.test((e as Error).message)) throw e; }
    }
    await lxdOperation("DELETE", `/1.0/instances/${encodeURIComponent(inst.name)}`);
    report.instances.push(inst.name);
  }
  for (const img of await lxdGet<{ fingerprint: string; aliases: { name: string }[]; properties: Record<string, string> }[]>("/1.0/images?recursion=1")) {
    if (!img.aliases.some((a) => mine(a.name)) && !mine(img.properties?.name)) continue;
    await lxdOperation("DELETE", `/1.0/images/${img.fingerprint}`);
    report.images.push(img.fingerprint);
  }
  for (const url of await lxdGet<string[]>("/1.0/profiles")) {
    const name = tail(url);
    if (!mine(name)) continue;
    await lxdRequest("DELETE", `/1.0/profiles/${encodeURIComponent(name)}`);
    report.profiles.push(name);
  }
  for (const net of await lxdGet<{ name: string; managed: boolean }[]>("/1.0/networks?recursion=1")) {
    if (!net.managed || !mine(net.name)) continue;
    await lxdRequest("DELETE", `/1.0/networks/${encodeURIComponent(net.name)}`);
    report.networks.push(net.name);
  }
  for (const url of await lxdGet<string[]>("/1.0/storage-pools")) {
    const pool = tail(url);
    const volumes = await lxdGet<{ name: string; type: string }[]>(`/1.0/storage-pools/${encodeURIComponent(pool)}/volumes?recursion=1`);
    for (const v of volumes) {
      if (v.type !== "custom" || !(mine(pool) || mine(v.name))) continue;
      await lxdRequest("DELETE", `/1.0/storage-pools/${encodeURIComponent(pool)}/volumes/custom/${encodeURIComponent(v.name)}`);
      report.volumes.push(`${pool}/${v.name}`);
    }
    if (!mine(pool)) continue;
    await lxdRequest("DELETE", `/1.0/storage-pools/${encodeURIComponent(pool)}`);
    report.storagePools.push(pool);
  }
  return report;
}
