import { spawn } from "node:child_process";
import { join } from "node:path";
import { Fleet } from "../test/lib/fleet.ts";
import { OutpostProcess, REPO, sleep, waitFor } from "../test/lib/processes.ts";
import { storeRelease } from "../test/lib/releases.ts";
import { argValue, machine } from "./lib.ts";
import { idleFigures, sampleProc, type IdleFigures, type ProcSample } from "./proc.ts";

/** Issue 8's targets for an idle agent process. MB = 10^6 bytes, the stricter reading. */
export const AGENT_IDLE_TARGETS = { rssMB: 60, cpuPercent: 1 } as const;

/** The baseline: a bare node process doing nothing but existing (one timer a second). */
const BARE_IDLE = "setInterval(() => {}, 1000)";

/** One way of running the agent: the argv after `node`. The agent is configured by OUTPOST_* variables. */
export interface AgentVariant { name: string; argv: string[] }

export const AGENT_VARIANTS: readonly AgentVariant[] = [
  { name: "dev: outpost agent start (tsx)", argv: [join(REPO, "bin/outpost.js"), "agent", "start"] },
  { name: "dev: node --import tsx agent/src/run.ts", argv: ["--import", "tsx", join(REPO, "agent/src/run.ts")] },
];

export interface AgentIdleResult {
  machine: string;
  seconds: number;
  baseline: IdleFigures;
  agents: { name: string; command: string; figures: IdleFigures; meetsRss: boolean; meetsCpu: boolean }[];
  targets: typeof AGENT_IDLE_TARGETS;
}

const MB = 1e6 / 2 ** 20; // MiB per MB

/**
 * Starts a real hub and one real agent process per variant (sim driver, transport https, the
 * production defaults for every interval: long-poll 30 s, reports 30 s, heal 60 s from the bundle),
 * waits until each has applied its first bundle, then samples every process once a second for
 * `seconds`, a bare idle node process alongside as the baseline of the same run and window.
 */
export async function measureAgentIdle(opts: { seconds: number; variants?: readonly AgentVariant[]; env?: Record<string, string> }): Promise<AgentIdleResult> {
  const variants = opts.variants ?? AGENT_VARIANTS;
  const fleet = new Fleet();
  const bare = spawn(process.execPath, ["-e", BARE_IDLE], { stdio: "ignore" });
  try {
    await fleet.startHub({ OUTPOST_MQTT_PORT: "0", OUTPOST_MQTT_WS_PORT: "0", OUTPOST_LOG_LEVEL: "error" });
    const { token } = await fleet.op.createToken({ autoApprove: true, uses: variants.length });
    const sites = variants.map((_, i) => `idle-${i + 1}`);
    const agents = variants.map((v, i) => {
      const site = sites[i]!;
      const child = spawn(process.execPath, v.argv, {
        cwd: REPO, stdio: ["ignore", "pipe", "pipe"],
        env: {
          ...process.env, OUTPOST_HUB_URL: fleet.url, OUTPOST_SITE: site, OUTPOST_STATE_DIR: fleet.stateDir(site),
          OUTPOST_ENROLL_TOKEN: token, OUTPOST_LOG_LEVEL: "info", OUTPOST_DRIVER: "sim", OUTPOST_TRANSPORT: "https", ...opts.env,
        },
      });
      const p = new OutpostProcess(`agent ${site} (${v.name})`, child);
      fleet.agents.set(site, p);
      return p;
    });
    await waitFor("every agent enrolled", async () => {
      for (const a of agents) if (!a.alive) throw new Error(`${a.name} exited:\n${a.text().slice(-3000)}`);
      const listed = await fleet.op.listSites();
      return sites.every((s) => listed.some((x) => x.name === s && x.status === "approved"));
    }, 120_000);

    // The production cadence: bundle spec defaults (poll 30 s, heal 60 s), not the tests' 1 s.
    const release = storeRelease("1.0");
    release.spec.agent = { pollIntervalSeconds: 30, healIntervalSeconds: 60, maintenanceWindows: [] };
    await fleet.op.createRelease(release);
    await fleet.op.assign({ name: "store", version: "1.0" }, "");
    await fleet.waitApplied(sites, () => 1, 120_000);

    const pids = [bare.pid!, ...agents.map((a) => a.child.pid!)];
    const samples: ProcSample[][] = pids.map(() => []);
    const end = performance.now() + opts.seconds * 1000;
    for (;;) {
      pids.forEach((pid, i) => samples[i]!.push(sampleProc(pid)));
      if (performance.now() >= end) break;
      await sleep(Math.min(1000, end - performance.now()));
    }
    for (const a of agents) if (!a.alive) throw new Error(`${a.name} exited while idle:\n${a.text().slice(-3000)}`);

    const [baseline, ...figures] = samples.map(idleFigures);
    return {
      machine: machine(), seconds: opts.seconds, baseline: baseline!, targets: AGENT_IDLE_TARGETS,
      agents: variants.map((v, i) => {
        const f = figures[i]!;
        return { name: v.name, command: `node ${v.argv.map((a) => a.replace(REPO + "/", "")).join(" ")}`, figures: f,
          meetsRss: f.rssMiB / MB < AGENT_IDLE_TARGETS.rssMB, meetsCpu: f.cpuPercent < AGENT_IDLE_TARGETS.cpuPercent };
      }),
    };
  } finally {
    bare.kill();
    await fleet.close();
  }
}

function row(name: string, f: IdleFigures): string {
  const mb = (mib: number) => (mib / MB).toFixed(1).padStart(6);
  return `  ${name.padEnd(44)} RSS ${mb(f.rssMiB)} MB (anon ${mb(f.anonMiB)}, file ${mb(f.fileMiB)})  window max ${mb(f.windowMaxRssMiB)}  HWM ${mb(f.hwmMiB)}` +
    `  CPU ${f.cpuPercent.toFixed(2).padStart(5)} %  wake-ups ${f.wakeupsPerSecond.toFixed(1).padStart(5)}/s`;
}

export async function benchAgentIdle(args: string[]): Promise<void> {
  const seconds = argValue(args, "seconds", 60);
  console.log(`bench agent: ${machine()}; each process sampled once a second over the same ${seconds} s idle window after its first bundle applied; MB = 10^6 bytes`);
  const r = await measureAgentIdle({ seconds });
  console.log(row("baseline  bare idle node (setInterval)", r.baseline));
  for (const a of r.agents) {
    console.log(row(a.name, a.figures));
    console.log(`    ${a.command}`);
    console.log(`    over baseline: RSS +${((a.figures.rssMiB - r.baseline.rssMiB) / MB).toFixed(1)} MB, CPU +${(a.figures.cpuPercent - r.baseline.cpuPercent).toFixed(2)} %;` +
      ` target RSS < ${r.targets.rssMB} MB ${a.meetsRss ? "met" : "NOT met"}, CPU < ${r.targets.cpuPercent} % ${a.meetsCpu ? "met" : "NOT met"}`);
  }
}
