import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { readUnit } from "../test/deploy/lib/unit.ts";
import { Fleet } from "../test/lib/fleet.ts";
import { OutpostProcess, REPO, sleep, waitFor } from "../test/lib/processes.ts";
import { storeRelease } from "../test/lib/releases.ts";
import { buildAgent } from "../build.ts";
import { argValue, machine } from "./lib.ts";
import { idleFigures, residentByMapping, sampleProc, type IdleFigures, type ProcSample } from "./proc.ts";

/** Issue 8's targets for an idle agent process. MB = 10^6 bytes, the stricter reading. */
export const AGENT_IDLE_TARGETS = { rssMB: 60, cpuPercent: 1 } as const;

/** The baseline: a bare node process doing nothing but existing (one timer a second). */
const BARE_IDLE = "setInterval(() => {}, 1000)";

/** Where a variant's agent finds its config file (hub, site, driver, transport) and keeps its state. */
export interface SitePaths { config: string; stateDir: string }

/** One way of running the agent: the argv after `node`, and environment variables it adds. */
export interface AgentVariant { name: string; argv: (p: SitePaths) => string[]; env?: Record<string, string>; config?: Record<string, unknown> }

const UNIT = join(REPO, "deploy/systemd/outpost-agent.service");

/**
 * Exactly what systemd runs on a site: deploy/systemd/outpost-agent.service's ExecStart and
 * Environment=, with /opt/outpost mapped to this checkout and the config and state paths to the bench's.
 */
export function productionVariant(): AgentVariant {
  const service = readUnit(readFileSync(UNIT, "utf8")).Service ?? {};
  const [node, ...args] = (service.ExecStart?.[0] ?? "").split(/\s+/);
  if (node !== "/usr/bin/node") throw new Error(`${UNIT}: ExecStart no longer starts /usr/bin/node; teach the bench what it runs`);
  const env = Object.fromEntries((service.Environment ?? []).flatMap((e) => e.split(/\s+/)).map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]));
  return {
    name: "production: the systemd unit's ExecStart", env,
    argv: (p) => args.map((a) => (a === "/etc/outpost/agent.yaml" ? p.config : a === "/var/lib/outpost" ? p.stateDir : a.replace(/^\/opt\/outpost\//, `${REPO}/`))),
  };
}

export const AGENT_VARIANTS: readonly AgentVariant[] = [
  productionVariant(),
  { name: "dev: outpost agent start (tsx)", argv: (p) => [join(REPO, "bin/outpost.js"), "agent", "start", "--config", p.config, "--state-dir", p.stateDir] },
  { name: "dev: node --import tsx agent/src/run.ts", argv: (p) => ["--import", "tsx", join(REPO, "agent/src/run.ts"), "--config", p.config, "--state-dir", p.stateDir] },
];

export interface AgentIdleResult {
  machine: string;
  seconds: number;
  baseline: IdleFigures;
  agents: { name: string; command: string; figures: IdleFigures; meetsRss: boolean; meetsCpu: boolean; mappings: { name: string; kib: number }[] }[];
  targets: typeof AGENT_IDLE_TARGETS;
}

const MB = 1e6 / 2 ** 20; // MiB per MB

/**
 * Starts a real hub and one real agent process per variant (sim driver, transport https, the
 * production defaults for every interval: long-poll 30 s, reports 30 s, heal 60 s from the bundle),
 * waits until each has applied its first bundle, then samples every process once a second for
 * `seconds`, a bare idle node process alongside as the baseline of the same run and window.
 */
export async function measureAgentIdle(opts: {
  seconds: number;
  variants?: readonly AgentVariant[];
  /** More agent.yaml fields for every variant (e.g. transport: auto). */
  config?: Record<string, unknown>;
  /** false: run the bundle agent/dist already holds instead of building it first. */
  build?: boolean;
}): Promise<AgentIdleResult> {
  const variants = opts.variants ?? AGENT_VARIANTS;
  if (opts.build !== false) await buildAgent(); // the production variant runs the bundle of the sources as they are now
  const fleet = new Fleet();
  const bare = spawn(process.execPath, ["-e", BARE_IDLE], { stdio: "ignore" });
  try {
    await fleet.startHub({ OUTPOST_MQTT_PORT: "0", OUTPOST_MQTT_WS_PORT: "0", OUTPOST_LOG_LEVEL: "error" });
    const { token } = await fleet.op.createToken({ autoApprove: true, uses: variants.length });
    const sites = variants.map((_, i) => `idle-${i + 1}`);
    // OUTPOST_* of the caller's shell would change what is measured: only the config file and the token count.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("OUTPOST_")));
    const commands: string[] = [];
    const agents = variants.map((v, i) => {
      const site = sites[i]!;
      const paths = { config: join(fleet.dir, `${site}.yaml`), stateDir: fleet.stateDir(site) };
      writeFileSync(paths.config, stringify({ hubUrl: fleet.url, site, driver: "sim", transport: "https", logLevel: "info", ...opts.config, ...v.config }));
      const argv = v.argv(paths);
      commands.push(`${Object.entries(v.env ?? {}).map(([k, x]) => `${k}=${x} `).join("")}node ${argv.map((a) => a.replace(`${REPO}/`, "")).join(" ")}`);
      const child = spawn(process.execPath, argv, { cwd: REPO, stdio: ["ignore", "pipe", "pipe"], env: { ...env, OUTPOST_ENROLL_TOKEN: token, ...v.env } });
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
    try {
      await fleet.waitApplied(sites, () => 1, 120_000);
    } catch (e) {
      const views = await fleet.op.listSites();
      throw new Error(`${(e as Error).message}\n${agents.map((a, i) => `${a.name}: ${JSON.stringify(views.find((v) => v.name === sites[i]))}\n${a.text().slice(-2000)}`).join("\n")}`);
    }

    const pids = [bare.pid!, ...agents.map((a) => a.child.pid!)];
    const samples: ProcSample[][] = pids.map(() => []);
    const end = performance.now() + opts.seconds * 1000;
    for (;;) {
      pids.forEach((pid, i) => samples[i]!.push(sampleProc(pid)));
      if (performance.now() >= end) break;
      await sleep(Math.min(1000, end - performance.now()));
    }
    for (const a of agents) if (!a.alive) throw new Error(`${a.name} exited while idle:\n${a.text().slice(-3000)}`);
    const mappings = agents.map((a) => residentByMapping(a.child.pid!));

    const [baseline, ...figures] = samples.map(idleFigures);
    return {
      machine: machine(), seconds: opts.seconds, baseline: baseline!, targets: AGENT_IDLE_TARGETS,
      agents: variants.map((v, i) => {
        const f = figures[i]!;
        return { name: v.name, command: commands[i]!, figures: f,
          meetsRss: f.windowMaxRssMiB / MB < AGENT_IDLE_TARGETS.rssMB, meetsCpu: f.cpuPercent < AGENT_IDLE_TARGETS.cpuPercent, mappings: mappings[i]! };
      }),
    };
  } finally {
    bare.kill();
    await fleet.close();
  }
}

function row(name: string, f: IdleFigures): string {
  const mb = (mib: number) => (mib / MB).toFixed(1).padStart(5);
  return `  ${name.padEnd(44)} RSS mean ${mb(f.windowMeanRssMiB)} max ${mb(f.windowMaxRssMiB)} MB (at the end: anon ${mb(f.anonMiB)}, file ${mb(f.fileMiB)})  HWM ${mb(f.hwmMiB)}` +
    `  CPU ${f.cpuPercent.toFixed(2).padStart(5)} %  wake-ups/s: main thread ${f.mainWakeupsPerSecond.toFixed(2).padStart(5)}, all threads ${f.wakeupsPerSecond.toFixed(1).padStart(4)}`;
}

export async function benchAgentIdle(args: string[]): Promise<void> {
  const seconds = argValue(args, "seconds", 60);
  const detail = args.includes("--detail");
  console.log(`bench agent: ${machine()}; each process sampled once a second over the same ${seconds} s idle window after its first bundle applied;` +
    " MB = 10^6 bytes; HWM = the process's peak RSS ever (start-up and apply included)");
  const r = await measureAgentIdle({ seconds });
  console.log(row("baseline  bare idle node (setInterval)", r.baseline));
  for (const a of r.agents) {
    console.log(row(a.name, a.figures));
    console.log(`    ${a.command}`);
    console.log(`    over baseline: RSS +${((a.figures.windowMeanRssMiB - r.baseline.windowMeanRssMiB) / MB).toFixed(1)} MB (means), CPU +${(a.figures.cpuPercent - r.baseline.cpuPercent).toFixed(2)} %;` +
      ` target RSS < ${r.targets.rssMB} MB all window long ${a.meetsRss ? "met" : "NOT met"}, CPU < ${r.targets.cpuPercent} % ${a.meetsCpu ? "met" : "NOT met"}`);
    if (detail) console.log(`    resident by mapping (MB): ${a.mappings.slice(0, 8).map((m) => `${m.name.replace(REPO + "/", "")} ${(m.kib * 1024 / 1e6).toFixed(1)}`).join(", ")}`);
  }
}
