/**
 * The ceph, rbd and rados command-line tools, run the only safe way: execFile with an argument
 * array (no shell, so a name can never become a command), a timeout, an environment that carries
 * nothing of the agent's (no tokens, no OUTPOST_* settings), and stderr in every error, because
 * that is where Ceph says what went wrong ("Error EPERM: ...").
 */
import { execFile, spawn } from "node:child_process";
import { createInterface } from "node:readline";

export interface CephCliOptions {
  /** ceph.conf of the cluster (`-c`). */
  conf: string;
  /** Keyring of the client (`--keyring`); default: whatever `conf` names under [client]. */
  keyring?: string;
  cephBin?: string;
  rbdBin?: string;
  radosBin?: string;
  /** Per command; default 60 s (a `ceph` call takes ~0.25 s on a healthy cluster). */
  timeoutMs?: number;
}

export class CephCommandError extends Error {
  constructor(readonly command: string, readonly exitCode: number | string | null, readonly stderr: string, detail: string) {
    super(`${command} failed (${detail})${stderr ? `: ${stderr}` : ""}`);
    this.name = "CephCommandError";
  }
}

/** PATH and a fixed locale: all a Ceph client needs, and nothing of the agent's own environment. */
function childEnv(): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", LC_ALL: "C.UTF-8" };
}

const tail = (s: string, n = 2000) => (s.length > n ? `…${s.slice(-n)}` : s).trim();

export class CephCli {
  private readonly bins: { ceph: string; rbd: string; rados: string };
  private readonly timeoutMs: number;

  constructor(private readonly o: CephCliOptions) {
    this.bins = { ceph: o.cephBin ?? "ceph", rbd: o.rbdBin ?? "rbd", rados: o.radosBin ?? "rados" };
    this.timeoutMs = o.timeoutMs ?? 60_000;
  }

  private common(): string[] {
    return ["-c", this.o.conf, ...(this.o.keyring ? ["--keyring", this.o.keyring] : [])];
  }

  private run(bin: string, args: string[], signal?: AbortSignal): Promise<string> {
    const shown = `${bin} ${args.join(" ")}`;
    return new Promise((resolve, reject) => {
      execFile(bin, [...this.common(), ...args], {
        env: childEnv(), timeout: this.timeoutMs, killSignal: "SIGKILL", maxBuffer: 64 * 1024 * 1024, signal, encoding: "utf8",
      }, (err, stdout, stderr) => {
        if (!err) return resolve(stdout);
        if (err.name === "AbortError") return reject(err);
        const e = err as NodeJS.ErrnoException & { killed?: boolean; code?: number | string; signal?: string };
        const detail = e.code === "ENOENT" ? `${bin} not found: install ceph-common`
          : e.killed ? `timed out after ${this.timeoutMs} ms` : `exit ${e.code ?? e.signal}`;
        reject(new CephCommandError(shown, e.code ?? null, tail(stderr), detail));
      });
    });
  }

  /** `ceph ...args`; the monitor connection gives up after 10 s instead of retrying forever. */
  ceph(args: string[], signal?: AbortSignal): Promise<string> {
    return this.run(this.bins.ceph, ["--connect-timeout", "10", ...args], signal);
  }

  async cephJson<T>(args: string[], signal?: AbortSignal): Promise<T> {
    return parseJson<T>(await this.ceph([...args, "--format", "json"], signal), `ceph ${args.join(" ")}`);
  }

  rbd(args: string[], signal?: AbortSignal): Promise<string> {
    return this.run(this.bins.rbd, args, signal);
  }

  async rbdJson<T>(args: string[], signal?: AbortSignal): Promise<T> {
    return parseJson<T>(await this.rbd([...args, "--format", "json"], signal), `rbd ${args.join(" ")}`);
  }

  /**
   * The first object in `pool` (any namespace) for which `isData` holds, or undefined. Streams
   * `rados ls` and stops at the first hit, so a full pool with millions of objects costs one line.
   */
  firstObject(pool: string, isData: (name: string) => boolean, signal?: AbortSignal): Promise<string | undefined> {
    const shown = `${this.bins.rados} -p ${pool} ls --all`;
    return new Promise((resolve, reject) => {
      const child = spawn(this.bins.rados, [...this.common(), "-p", pool, "ls", "--all"], { env: childEnv(), stdio: ["ignore", "pipe", "pipe"], signal });
      let found: string | undefined;
      let stderr = "";
      const timer = setTimeout(() => child.kill("SIGKILL"), this.timeoutMs);
      child.stderr.setEncoding("utf8").on("data", (d: string) => { stderr = (stderr + d).slice(-4000); });
      // `--all` prints "<namespace>\t<object>"; the default namespace is empty.
      createInterface({ input: child.stdout }).on("line", (line) => {
        const tab = line.indexOf("\t");
        const ns = tab > 0 ? line.slice(0, tab) : "";
        const name = line.slice(tab + 1);
        if (found === undefined && name && isData(name)) { found = ns ? `${ns}/${name}` : name; child.kill("SIGKILL"); }
      });
      child.on("error", (e) => { clearTimeout(timer); reject(e.name === "AbortError" ? e : new CephCommandError(shown, (e as NodeJS.ErrnoException).code ?? null, "", e.message)); });
      child.on("close", (code, sig) => {
        clearTimeout(timer);
        if (found !== undefined) return resolve(found);
        if (code === 0) return resolve(undefined);
        reject(new CephCommandError(shown, code, tail(stderr), sig ? `killed by ${sig} (timeout ${this.timeoutMs} ms?)` : `exit ${code}`));
      });
    });
  }
}

function parseJson<T>(out: string, what: string): T {
  try {
    return JSON.parse(out.trim() || "null") as T;
  } catch {
    throw new Error(`${what} printed something that is not JSON: ${tail(out, 300)}`);
  }
}
