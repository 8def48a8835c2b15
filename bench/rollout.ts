import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startHub } from "@outpost/hub";
import { evaluate } from "../hub/src/rollouts/engine.ts";
import { loadRollout } from "../hub/src/rollouts/store.ts";
import type { TickStats } from "../hub/src/rollouts/scheduler.ts";
import { HubError, OperatorClient } from "@outpost/shared";
import { storeRelease } from "../test/lib/releases.ts";
import { FleetSimulator } from "./fleet/simulator.ts";
import { argValue, fmt, machine, procCpuS, procMemMiB } from "./lib.ts";

/**
 * `pnpm bench rollout --sites N [--procs P]`: a real hub (in this process, so its CPU, memory and
 * engine ticks can be read directly) and N real sim agents spread over P child processes (the
 * fleet simulator, bench/fleet), talking HTTP long-poll over loopback. Every site first runs store@1.0; then a 4-wave rollout
 * [1, 10%, 50%, 100%] takes them to store@1.1. Prints the wall time from start to 100% applied,
 * the hub's CPU and peak memory, and what the engine costs per tick at that size.
 */
const procStat = (pid: number) => procCpuS(pid);
const vmHwmMiB = (pid: number | "self" = "self") => procMemMiB(pid, "VmHWM");
const cpuS = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** The bench's own operator calls share the hub with N agents: retry a connection refused or timed out under that load. */
async function retry<T>(fn: () => Promise<T>): Promise<T> {
  for (let i = 0; ; i++) {
    try { return await fn(); } catch (e) {
      if (i >= 10 || !(e instanceof HubError) || !e.transient) throw e;
      await wait(1000);
    }
  }
}

export async function benchRollout(args: string[]): Promise<void> {
  const n = argValue(args, "sites", 1000);
  const procs = argValue(args, "procs", Math.max(1, Math.ceil(n / 1000)));
  // --no-baseline: roll 1.1 out to sites that hold no bundle yet, instead of first taking them all to 1.0 (halves a long run).
  const baseline = !args.includes("--no-baseline");
  const dir = mkdtempSync(join(tmpdir(), "outpost-bench-rollout-"));
  const hub = await startHub({ dataDir: join(dir, "hub"), port: 0, logLevel: "warn", mqttPort: 0, mqttWsPort: null });
  const op = new OperatorClient(hub.url, hub.adminToken!);
  let fleet: FleetSimulator | null = null;
  const ticks: TickStats[] = [];
  let lastSeen: TickStats | null = null;
  const tickWatch = setInterval(() => { const t = hub.rollouts.lastTick; if (t && t !== lastSeen && t.leader) { ticks.push(t); lastSeen = t; } }, 50);
  console.log(`bench rollout: ${machine()}; ${n} sim agents in ${procs} child process(es), hub in this process (database on disk), HTTP long-poll on loopback`);
  try {
    const { token } = await retry(() => op.createToken({ autoApprove: true, uses: n, expiresInHours: 24 }));
    let t = performance.now();
    fleet = await FleetSimulator.start({ hubUrl: hub.url, token, sites: n, procs, prefix: "bench-", onProgress: progress("started") });
    process.stdout.write("\r\x1b[K"); console.log(`  ${n} agents enrolled and running in ${((performance.now() - t) / 1000).toFixed(1)} s (state files on ${fleet.onTmpfs ? "tmpfs" : "disk"})`);

    await retry(() => op.createRelease(storeRelease("1.0")));
    await retry(() => op.createRelease(storeRelease("1.1", { instances: 3 })));
    t = performance.now();
    if (baseline) await retry(() => op.assign({ name: "store", version: "1.0" }, ""));
    const assignS = (performance.now() - t) / 1000;
    for (;;) {
      if (!baseline) break;
      const sites = await retry(() => op.listSites());
      if (sites.filter((s) => s.appliedVersion === 1 && s.state === "in-sync").length === n) break;
      await wait(1000);
    }
    if (baseline) console.log(`  baseline store@1.0 assigned in one transaction (${n} signed bundles) in ${assignS.toFixed(1)} s, applied everywhere after ${((performance.now() - t) / 1000).toFixed(1)} s`);

    const ro = await retry(() => op.createRollout({ release: { name: "store", version: "1.1" }, selector: "", strategy: { waves: [1, "10%", "50%", "100%"], waveTimeoutSeconds: 1800 } }));
    const cpu0 = cpuS(), kids0 = fleet.pids.map(procStat);
    ticks.length = 0;
    t = performance.now();
    await retry(() => op.rolloutAction(ro.id, "start"));
    let view = await retry(() => op.getRollout(ro.id));
    const waveDone: number[] = [];
    // Status every 5 s (`outpost rollout status --watch --interval 5`): each view reads every site of the
    // rollout (10,000 rows), as the engine's tick (every 2 s, the default) does.
    while (view.status === "running") {
      await wait(5000);
      view = await retry(() => op.getRollout(ro.id));
      view.waves.forEach((w, i) => { if (w.state === "succeeded" && waveDone[i] === undefined) waveDone[i] = (performance.now() - t) / 1000; });
    }
    const wall = (performance.now() - t) / 1000;
    const hubCpu = cpuS() - cpu0;
    const kidsCpu = fleet.pids.reduce((a, pid, i) => a + procStat(pid) - kids0[i]!, 0);
    if (view.status !== "completed") throw new Error(`rollout ended ${view.status}: ${JSON.stringify(view.sites)}`);

    console.log(`  rollout [1, 10%, 50%, 100%] of ${n} sites (${baseline ? "store@1.0 -> 1.1" : "first bundle: store@1.1"}): ${view.sites.succeeded} applied and in sync, ${view.sites.failed} failed, ${view.sites.timedOut} timed out`);
    console.log(`    wall time start -> 100% applied   ${wall.toFixed(1)} s   (waves done at ${waveDone.map((s) => s.toFixed(1)).join(", ")} s)`);
    console.log(`    hub CPU during the rollout         ${hubCpu.toFixed(1)} s = ${(hubCpu / wall).toFixed(2)} cores (this process, incl. the bench's status polls every 5 s)`);
    console.log(`    agents' CPU (${procs} processes)         ${kidsCpu.toFixed(1)} s = ${(kidsCpu / wall).toFixed(2)} cores`);
    console.log(`    hub peak RSS (whole run)           ${fmt(vmHwmMiB())} MiB; agent processes ${fleet.pids.map((pid) => fmt(vmHwmMiB(pid))).join(", ")} MiB`);
    const acting = ticks.filter((x) => x.decisions > 0);
    const stat = (xs: number[]) => xs.length ? `median ${median(xs).toFixed(1)} ms, max ${Math.max(...xs).toFixed(1)} ms` : "-";
    console.log(`    engine ticks: ${ticks.length} (${acting.length} acted, ${acting.reduce((a, x) => a + x.started, 0)} site starts)`);
    console.log(`      read rows        ${stat(ticks.map((x) => x.loadMs))}`);
    console.log(`      decide (pure)    ${stat(ticks.map((x) => x.decideMs))}`);
    console.log(`      write decisions  ${stat(acting.map((x) => x.applyMs))}  (signing and storing each started site's bundle)`);

    // The pure engine alone on this rollout's real rows, rewound to its busiest moment: the last
    // wave all in flight and reporting, so every site is observed and half the fleet is marked.
    const loaded = (await loadRollout(hub.db.db, ro.id))!;
    const last = loaded.engine.waveSizes.length - 1;
    const busy = { ...loaded.engine, status: "running" as const, currentWave: last, waveState: "active" as const };
    const sites = loaded.sites.map((s) => (s.wave === last ? { ...s, state: "in-progress" as const } : s));
    const runs: number[] = [];
    for (let i = 0; i < 20; i++) { const a = performance.now(); evaluate(busy, sites, new Date()); runs.push(performance.now() - a); }
    const l0 = performance.now(); await loadRollout(hub.db.db, ro.id); const loadMs = performance.now() - l0;
    console.log(`    engine at ${n} sites, busiest tick (last wave of ${loaded.engine.waveSizes[last]} all reporting): decide ${median(runs).toFixed(1)} ms median of 20, read ${loadMs.toFixed(1)} ms`);
  } finally {
    clearInterval(tickWatch);
    await fleet?.close();
    await hub.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A one-line progress counter for long phases (enrolling thousands of sites takes minutes). */
export function progress(what: string): (done: number, total: number, approved?: number) => void {
  let last = 0;
  return (done, total, approved) => {
    if (Date.now() - last < 1000 && done < total) return;
    last = Date.now();
    process.stdout.write(`\r\x1b[K  ${done} / ${total} sites ${what}${approved === undefined ? "" : `, ${approved} enrolled and approved`}...`);
  };
}

function median(xs: number[]): number { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)] ?? 0; }
