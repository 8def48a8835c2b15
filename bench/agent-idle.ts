import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { readUnit } from "../test/deploy/lib/unit.ts";
import { Fleet } from "../test/lib/fleet.ts";
import { OutpostProcess, REPO, sleep, waitFor } from "../test/lib/processes.ts";
import { storeRelease } from "../test/lib/releases.ts";
import type { CreateReleaseRequest } from "@outpost/shared";
import { bigSpec } from "../agent/src/testing/big-spec.ts";
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
 * `withoutNodeFlags`: the same without the node/V8 flags before the script, to show what they buy.
 */
export function productionVariant(o: { withoutNodeFlags?: boolean } = {}): AgentVariant {
  const service = readUnit(readFileSync(UNIT, "utf8")).Service ?? {};
  const [node, ...args] = (service.ExecStart?.[0] ?? "").split(/\s+/);
  if (node !== "/usr/bin/node") throw new Error(`${UNIT}: ExecStart no longer starts /usr/bin/node; teach the bench what it runs`);
  const script = args.findIndex((a) => !a.startsWith("-"));
  const flags = args.slice(0, script);
  const env = Object.fromEntries((service.Environment ?? []).flatMap((e) => e.split(/\s+/)).map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]));
  const map = (a: string, p: SitePaths) => (a === "/etc/outpost/agent.yaml" ? p.config : a === "/var/lib/outpost" ? p.stateDir : a.replace(/^\/opt\/outpost\//, `${REPO}/`));
  return o.withoutNodeFlags
    ? { name: `  the same without ${flags.join(" ") || "(no flags)"}`, argv: (p) => args.slice(script).map((a) => map(a, p)) }
    : { name: "production: the systemd unit's ExecStart", env, argv: (p) => args.map((a) => map(a, p)) };
}

export const AGENT_VARIANTS: readonly AgentVariant[] = [
  productionVariant(),
  productionVariant({ withoutNodeFlags: true }),
  { name: "dev: outpost agent start (tsx)", argv: (p) => [join(REPO, "bin/outpost.js"), "agent", "start", "--config", p.config, "--state-dir", p.stateDir] },
  { name: "dev: node --import tsx agent/src/run.ts", argv: (p) => ["--import", "tsx", join(REPO, "agent/src/run.ts"), "--config", p.config, "--state-dir", p.stateDir] },
];

export interface AgentIdleResult {
  machine: string;
  seconds: number;
  settleSeconds: number;
  baseline: IdleFigures;
  agents: { name: string; command: string; figures: IdleFigures; meetsRss: boolean; meetsCpu: boolean; mappings: { name: string; kib: number }[] }[];
  targets: typeof AGENT_IDLE_TARGETS;
}

const MB = 1e6 / 2 ** 20; // MiB per MB

/** A real hub (embedded broker on ephemeral ports) and one real agent process per variant, enrolled and approved. */
async function startSites(variants: readonly AgentVariant[], config: Record<string, unknown> = {}, prefix = "idle") {
  const fleet = new Fleet();
  await fleet.startHub({ OUTPOST_MQTT_PORT: "0", OUTPOST_MQTT_WS_PORT: "0", OUTPOST_LOG_LEVEL: "error" });
  const { token } = await fleet.op.createToken({ autoApprove: true, uses: variants.length });
  const sites = variants.map((_, i) => `${prefix}-${i + 1}`);
  // OUTPOST_* of the caller's shell would change what is measured: only the config file and the token count.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("OUTPOST_")));
  const commands: string[] = [];
  const agents = variants.map((v, i) => {
    const site = sites[i]!;
    const paths = { config: join(fleet.dir, `${site}.yaml`), stateDir: fleet.stateDir(site) };
    writeFileSync(paths.config, stringify({ hubUrl: fleet.url, site, driver: "sim", transport: "https", logLevel: "info", ...config, ...v.config }));
    const argv = v.argv(paths);
    commands.push(`${Object.entries(v.env ?? {}).map(([k, x]) => `${k}=${x} `).join("")}node ${argv.map((a) => a.replace(`${REPO}/`, "")).join(" ")}`);
    const child = spawn(process.execPath, argv, { cwd: REPO, stdio: ["ignore", "pipe", "pipe"], env: { ...env, OUTPOST_ENROLL_TOKEN: token, ...v.env } });
    const p = new OutpostProcess(`agent ${site} (${v.name})`, child);
    fleet.agents.set(site, p);
    return p;
  });
  const alive = () => { for (const a of agents) if (!a.alive) throw new Error(`${a.name} exited:\n${a.text().slice(-3000)}`); };
  try {
    await waitFor("every agent enrolled", async () => {
      alive();
      const listed = await fleet.op.listSites();
      return sites.every((s) => listed.some((x) => x.name === s && x.status === "approved"));
    }, 120_000);
  } catch (e) { await fleet.close(); throw e; }
  /** Assigns the release to every site (all of them this hub has) and waits until `which` have applied it. */
  const apply = async (release: CreateReleaseRequest, which: string[], timeoutMs: number) => {
    await fleet.op.createRelease(release);
    const { assigned } = await fleet.op.assign({ name: release.name, version: release.version }, "");
    if (assigned.length !== sites.length) throw new Error(`release ${release.name}@${release.version} went to ${assigned.length} of ${sites.length} sites`);
    try {
      await fleet.waitApplied(which, () => 1, timeoutMs);
    } catch (e) {
      const views = await fleet.op.listSites();
      throw new Error(`${(e as Error).message}\n${agents.map((a, i) => `${a.name}: ${JSON.stringify(views.find((v) => v.name === sites[i]))}\n${a.text().slice(-2000)}`).join("\n")}`);
    }
  };
  return { fleet, sites, agents, commands, alive, apply };
}

/**
 * Starts a real hub and one real agent process per variant (sim driver, transport https, the
 * production defaults for every interval: long-poll 30 s, reports 30 s, heal 60 s from the bundle),
 * waits until each has applied its first bundle and `settleSeconds` more, then samples every process
 * once a second for `seconds`, a bare idle node process alongside as the baseline of the same window.
 * The settle time is V8's memory reducer, which gives back the heap the apply grew about 8 s after it.
 */
export async function measureAgentIdle(opts: {
  seconds: number;
  /** Default 10. */
  settleSeconds?: number;
  variants?: readonly AgentVariant[];
  /** More agent.yaml fields for every variant (e.g. transport: auto). */
  config?: Record<string, unknown>;
  /** false: run the bundle agent/dist already holds instead of building it first. */
  build?: boolean;
}): Promise<AgentIdleResult> {
  const variants = opts.variants ?? AGENT_VARIANTS;
  const settleSeconds = opts.settleSeconds ?? 10;
  if (opts.build !== false) await buildAgent(); // the production variant runs the bundle of the sources as they are now
  const bare = spawn(process.execPath, ["-e", BARE_IDLE], { stdio: "ignore" });
  const { fleet, sites, agents, commands, alive, apply } = await startSites(variants, opts.config).catch((e: unknown) => { bare.kill(); throw e; });
  try {
    // The production cadence: bundle spec defaults (poll 30 s, heal 60 s), not the tests' 1 s.
    const release = storeRelease("1.0");
    release.spec.agent = { pollIntervalSeconds: 30, healIntervalSeconds: 60, maintenanceWindows: [] };
    await apply(release, sites, 120_000);
    await sleep(settleSeconds * 1000);

    const pids = [bare.pid!, ...agents.map((a) => a.child.pid!)];
    const samples: ProcSample[][] = pids.map(() => []);
    const end = performance.now() + opts.seconds * 1000;
    for (;;) {
      pids.forEach((pid, i) => samples[i]!.push(sampleProc(pid)));
      if (performance.now() >= end) break;
      await sleep(Math.min(1000, end - performance.now()));
    }
    alive();
    const mappings = agents.map((a) => residentByMapping(a.child.pid!));

    const [baseline, ...figures] = samples.map(idleFigures);
    return {
      machine: machine(), seconds: opts.seconds, settleSeconds, baseline: baseline!, targets: AGENT_IDLE_TARGETS,
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

export interface BigApplyResult {
  name: string;
  steps: number;
  seconds: number;
  cpuSeconds: number;
  hwmMiB: number;
  /** The site idling afterwards for `idleSeconds` (heal ticks observe and plan every object). */
  idle: IdleFigures;
}

/**
 * A big site's first bundle (bigSpec: ~`bytes` of spec JSON, thousands of objects) applied by each
 * variant in turn, alone on the machine: wall time from assign to applied, CPU time, peak RSS; then
 * the site idling for `idleSeconds` (at least one heal tick, which observes and plans all of it).
 * What the V8 flags of the production command line must not break or slow much.
 */
export async function measureBigApply(opts: { bytes: number; variants: readonly AgentVariant[]; idleSeconds?: number; build?: boolean }): Promise<BigApplyResult[]> {
  if (opts.build !== false) await buildAgent();
  const idleSeconds = opts.idleSeconds ?? 65;
  const out: BigApplyResult[] = [];
  for (const v of opts.variants) {
    const { fleet, sites, agents, alive, apply } = await startSites([v], {}, "big");
    try {
      const pid = agents[0]!.child.pid!;
      const release: CreateReleaseRequest = { name: "big", version: "1.0", description: "", spec: bigSpec(opts.bytes), artifacts: [] };
      const before = sampleProc(pid);
      const t = performance.now();
      await apply(release, sites, 30 * 60_000);
      const seconds = (performance.now() - t) / 1000;
      const after = sampleProc(pid);
      const samples = [after];
      for (const end = performance.now() + idleSeconds * 1000; performance.now() < end;) {
        await sleep(Math.min(1000, end - performance.now()));
        samples.push(sampleProc(pid));
      }
      alive();
      const applied = await fleet.events(sites[0]!, "applied");
      out.push({
        name: v.name, seconds, cpuSeconds: after.cpuSeconds - before.cpuSeconds, hwmMiB: after.hwmKiB / 1024, idle: idleFigures(samples),
        steps: Number((applied[0]?.body as { details?: { steps?: number } } | undefined)?.details?.steps ?? 0),
      });
    } finally {
      await fleet.close();
    }
  }
  return out;
}

function row(name: string, f: IdleFigures): string {
  const mb = (mib: number) => (mib / MB).toFixed(1).padStart(5);
  return `  ${name.padEnd(44)} RSS mean ${mb(f.windowMeanRssMiB)} max ${mb(f.windowMaxRssMiB)} MB (at the end: anon ${mb(f.anonMiB)}, file ${mb(f.fileMiB)})  HWM ${mb(f.hwmMiB)}` +
    `  CPU ${f.cpuPercent.toFixed(2).padStart(5)} %  wake-ups/s: main thread ${f.mainWakeupsPerSecond.toFixed(2).padStart(5)}, all threads ${f.wakeupsPerSecond.toFixed(1).padStart(4)}`;
}

export async function benchAgentIdle(args: string[]): Promise<void> {
  const seconds = argValue(args, "seconds", 60);
  const bigBytes = args.includes("--no-big") ? 0 : argValue(args, "big-bytes", 700_000);
  const transport = args[args.indexOf("--transport") + 1];
  if (args.includes("--transport") && !["https", "mqtt", "auto"].includes(transport ?? "")) throw new Error("--transport needs https, mqtt or auto");
  const detail = args.includes("--detail");
  console.log(`bench agent: ${machine()}; transport ${args.includes("--transport") ? transport : "https"}; each process sampled once a second over the same ${seconds} s idle window,` +
    " from 10 s after its first bundle applied (V8's memory reducer runs ~8 s after such work); MB = 10^6 bytes; HWM = the process's peak RSS ever (start-up and apply included)");
  const r = await measureAgentIdle({ seconds, ...(args.includes("--transport") ? { config: { transport } } : {}) });
  console.log(row("baseline  bare idle node (setInterval)", r.baseline));
  for (const a of r.agents) {
    console.log(row(a.name, a.figures));
    console.log(`    ${a.command}`);
    console.log(`    over baseline: RSS +${((a.figures.windowMeanRssMiB - r.baseline.windowMeanRssMiB) / MB).toFixed(1)} MB (means), CPU +${(a.figures.cpuPercent - r.baseline.cpuPercent).toFixed(2)} %;` +
      ` target RSS < ${r.targets.rssMB} MB all window long ${a.meetsRss ? "met" : "NOT met"}, CPU < ${r.targets.cpuPercent} % ${a.meetsCpu ? "met" : "NOT met"}`);
    if (detail) console.log(`    resident by mapping (MB): ${a.mappings.slice(0, 8).map((m) => `${m.name.replace(REPO + "/", "")} ${(m.kib * 1024 / 1e6).toFixed(1)}`).join(", ")}`);
  }
  if (!bigBytes) return;
  console.log(`\na big site's first bundle (~${(bigBytes / 1e3).toFixed(0)} kB of spec), each variant alone, then 65 s of it idle (a heal tick plans every object):` +
    " what the production V8 flags cost when there is work");
  for (const b of await measureBigApply({ bytes: bigBytes, variants: [productionVariant(), productionVariant({ withoutNodeFlags: true })], build: false })) {
    console.log(`  ${b.name.padEnd(44)} ${b.steps} steps applied in ${b.seconds.toFixed(1)} s (CPU ${b.cpuSeconds.toFixed(1)} s), HWM ${(b.hwmMiB / MB).toFixed(1)} MB;` +
      ` then idle ${b.idle.cpuPercent.toFixed(2)} % CPU, RSS mean ${(b.idle.windowMeanRssMiB / MB).toFixed(1)} MB, at the end ${(b.idle.rssMiB / MB).toFixed(1)} MB`);
  }
}
