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
