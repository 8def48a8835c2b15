import type { WaveSize } from "@outpost/shared";

/**
 * Which site goes in which wave (pure), fixed once when the rollout starts so a restart, a label
 * change or a newly approved site never moves a site between waves.
 *
 * Wave entries are cumulative targets: [1, "10%", "50%", "100%"] over 50 sites means 1 site, then
 * up to 5, then up to 25, then all 50. A target never moves backwards, and a wave left with no new
 * site (5 sites: 1, then 10% = 1) is dropped, so every planned wave has work and needs no approval
 * for nothing. Sites are interleaved across disruption-budget groups (one of each group in turn,
 * groups and sites by name) so every wave samples every region instead of draining one first.
 */
export interface PlanSite { id: string; name: string; group: string }
export interface WavePlan {
  /** Site ids per planned wave, in start order. */
  waves: string[][];
  /** The strategy entry each planned wave came from. */
  targets: WaveSize[];
}

export function targetCount(target: WaveSize, total: number): number {
  if (typeof target === "number") return Math.min(target, total);
  return Math.ceil((Number(target.slice(0, -1)) * total) / 100);
}

export function interleave<T extends PlanSite>(sites: readonly T[]): T[] {
  const groups = new Map<string, T[]>();
  for (const s of [...sites].sort((a, b) => (a.group < b.group ? -1 : a.group > b.group ? 1 : a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const g = groups.get(s.group) ?? [];
    g.push(s);
    groups.set(s.group, g);
  }
  const lists = [...groups.values()];
  const out: T[] = [];
  for (let i = 0; out.length < sites.length; i++) for (const l of lists) if (i < l.length) out.push(l[i]!);
  return out;
}

export function planWaves(sites: readonly PlanSite[], targets: readonly WaveSize[]): WavePlan {
  const ordered = interleave(sites);
  const waves: string[][] = [];
  const kept: WaveSize[] = [];
  let taken = 0;
  for (const t of targets) {
    const upTo = Math.max(taken, targetCount(t, ordered.length));
    if (upTo === taken) continue;
    waves.push(ordered.slice(taken, upTo).map((s) => s.id));
    kept.push(t);
    taken = upTo;
  }
  return { waves, targets: kept };
}
