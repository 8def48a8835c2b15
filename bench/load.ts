import { Agent, request } from "node:http";

/**
 * A closed-loop HTTP load generator: `concurrency` requests in flight over keep-alive sockets for
 * `ms` milliseconds. `headers(i)` gives each request its own headers (agents sign one JWT each).
 */
export async function load(url: string, opts: { concurrency: number; ms: number; headers?: (i: number) => Record<string, string> }): Promise<{ perSecond: number; statuses: Record<number, number>; p50: number; p99: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: opts.concurrency });
  const statuses: Record<number, number> = {};
  const latencies: number[] = [];
  let i = 0;
  const end = performance.now() + opts.ms;
  const one = () => new Promise<void>((resolve, reject) => {
    const t0 = performance.now();
    const req = request(url, { agent, headers: opts.headers?.(i++) }, (res) => {
      res.resume();
      res.on("end", () => { statuses[res.statusCode!] = (statuses[res.statusCode!] ?? 0) + 1; latencies.push(performance.now() - t0); resolve(); });
    });
    req.on("error", reject);
    req.end();
  });
  const start = performance.now();
  await Promise.all(Array.from({ length: opts.concurrency }, async () => { while (performance.now() < end) await one(); }));
  const elapsed = (performance.now() - start) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? 0;
  return { perSecond: latencies.length / elapsed, statuses, p50: q(0.5), p99: q(0.99) };
}
