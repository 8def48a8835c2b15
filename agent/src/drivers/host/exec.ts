/**
 * Runs dpkg/apt tools: execFile with an argument array (never a shell), a timeout, and a small
 * environment of our own instead of the agent's (which may carry its enrollment token and other
 * OUTPOST_* settings): PATH, a fixed locale so the output we parse is not translated,
 * DEBIAN_FRONTEND=noninteractive so no maintainer script waits for a keyboard, and the proxy
 * variables, which apt honours and a site behind a proxy needs.
 */
import { execFile } from "node:child_process";

export class HostCommandError extends Error {
  constructor(readonly command: string, readonly exitCode: number | string | null, readonly stderr: string, detail: string) {
    super(`${command} failed (${detail})${stderr ? `: ${stderr}` : ""}`);
    this.name = "HostCommandError";
  }
}

const PROXY_VARS = ["http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY"];

export function hostEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    LC_ALL: "C.UTF-8",
    DEBIAN_FRONTEND: "noninteractive",
  };
  for (const k of PROXY_VARS) if (process.env[k]) env[k] = process.env[k];
  return env;
}

const tail = (s: string, n = 3000) => (s.length > n ? `…${s.slice(-n)}` : s).trim();

export interface RunOptions {
  timeoutMs: number;
  /** Exit codes that are not failures (dpkg-query exits 1 when a named package is unknown). */
  okCodes?: readonly number[];
  signal?: AbortSignal;
}

export function runTool(bin: string, args: readonly string[], o: RunOptions): Promise<{ stdout: string; stderr: string; code: number }> {
  const shown = `${bin} ${args.join(" ")}`;
  return new Promise((resolve, reject) => {
    execFile(bin, [...args], {
      env: hostEnv(), timeout: o.timeoutMs, killSignal: "SIGKILL", maxBuffer: 64 * 1024 * 1024, encoding: "utf8", signal: o.signal,
    }, (err, stdout, stderr) => {
      if (!err) return resolve({ stdout, stderr, code: 0 });
      if (err.name === "AbortError") return reject(err);
      const e = err as NodeJS.ErrnoException & { killed?: boolean; code?: number | string; signal?: string };
      if (typeof e.code === "number" && o.okCodes?.includes(e.code)) return resolve({ stdout, stderr, code: e.code });
      const detail = e.code === "ENOENT" ? `${bin} not found`
        : e.killed ? `timed out after ${o.timeoutMs} ms` : `exit ${e.code ?? e.signal}`;
      // apt writes its errors ("E: ...") to stderr but the context (what it was doing) to stdout.
      reject(new HostCommandError(shown, e.code ?? null, tail(`${stderr}${stderr && stdout ? "\n" : ""}${stdout.split("\n").slice(-15).join("\n")}`), detail));
    });
  });
}
