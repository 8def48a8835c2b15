import { readFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";

/** The machine the figures were taken on: a ratio means little without it. */
export function machine(): string {
  return `${cpus().length} cores (${cpus()[0]?.model ?? "unknown"}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
}

/** Runs `op` back to back for `ms` milliseconds (after a warm-up) and returns operations per second. */
export async function rate(op: () => Promise<unknown> | unknown, ms: number, warmupMs = Math.min(500, ms / 4)): Promise<{ perSecond: number; n: number }> {
  const until = (t: number) => performance.now() + t;
  for (let end = until(warmupMs); performance.now() < end;) await op();
  let n = 0;
  const start = performance.now();
  for (const end = start + ms; performance.now() < end; n++) await op();
  return { perSecond: n / ((performance.now() - start) / 1000), n };
}

export function fmt(n: number): string { return n >= 100 ? Math.round(n).toLocaleString("en-US") : n.toFixed(2); }

export function argValue(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(args[i + 1]);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} needs a positive number`);
  return v;
}

const USER_HZ = 100; // Linux
/** CPU seconds (user + system) a process has used so far, from /proc. */
export function procCpuS(pid: number | "self" = "self"): number {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(f[11]) + Number(f[12])) / USER_HZ;
}
/** A process's resident (VmRSS) or peak resident (VmHWM) memory in MiB, from /proc. */
export function procMemMiB(pid: number | "self" = "self", field: "VmRSS" | "VmHWM" = "VmRSS"): number {
  return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) / 1024;
}
/** The p-quantile (0..1) of numbers, nearest rank. */
export function quantile(xs: readonly number[], p: number): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))]!;
}
