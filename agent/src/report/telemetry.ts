/** Process numbers for telemetry: memory and CPU, so the hub can spot a leaking or spinning agent. */
export function processMetrics(): Record<string, number> {
  const mem = process.memoryUsage();
  const cpu = process.cpuUsage();
  return {
    "process.rss_bytes": mem.rss,
    "process.heap_used_bytes": mem.heapUsed,
    "process.cpu_user_seconds": cpu.user / 1e6,
    "process.cpu_system_seconds": cpu.system / 1e6,
    "process.uptime_seconds": process.uptime(),
  };
}

/** The hub accepts at most 256 metrics per report: keep the first 256 in key order, deterministically. */
export function capMetrics(m: Record<string, number>, max = 256): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of Object.keys(m).sort().slice(0, max)) if (Number.isFinite(m[k]!)) out[k.slice(0, 128)] = m[k]!;
  return out;
}
