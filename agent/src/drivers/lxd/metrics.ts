/**
 * Telemetry from what observe() saw (pure). Counts cover every object LXD holds, Outpost's or not
 * (an operator wants to see the stray container too); `.owned` counts only Outpost's. CPU and
 * memory come from the same `?recursion=2` listing, per running instance and summed.
 */
import type { LxdObserved } from "./normalize.ts";

export function lxdMetrics(observed: LxdObserved): Record<string, number> {
  const m: Record<string, number> = {};
  const inc = (k: string, by = 1) => { m[k] = (m[k] ?? 0) + by; };
  for (const kind of ["lxd.storage-pool", "lxd.network", "lxd.profile", "lxd.instance"]) { m[`${kind}.count`] = 0; m[`${kind}.owned`] = 0; }
  m["lxd.instance.running"] = 0;
  m["lxd.instance.stopped"] = 0;
  for (const o of observed.objects) {
    // Unmanaged networks are the host's interfaces, not LXD objects.
    if (o.owner === "host") continue;
    inc(`${o.kind}.count`);
    if (o.owner === "outpost") inc(`${o.kind}.owned`);
    if (o.kind === "lxd.instance") inc(`lxd.instance.${String(o.fields.state)}`);
  }
  m["lxd.instance.cpu_seconds"] = 0;
  m["lxd.instance.memory_bytes"] = 0;
  for (const [name, u] of Object.entries(observed.usage)) {
    inc("lxd.instance.cpu_seconds", u.cpuSeconds);
    inc("lxd.instance.memory_bytes", u.memoryBytes);
    m[`lxd.instance.cpu_seconds.${name}`] = u.cpuSeconds;
    m[`lxd.instance.memory_bytes.${name}`] = u.memoryBytes;
  }
  m["lxd.image.count"] = observed.images.length;
  return m;
}
