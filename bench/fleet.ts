import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, totalmem, tmpdir } from "node:os";
import { join } from "node:path";
import { OperatorClient } from "@outpost/shared";
import { storeRelease } from "../test/lib/releases.ts";
import { spawnOutpost } from "../test/lib/processes.ts";
import { FleetSimulator } from "./fleet/simulator.ts";
import { argValue, machine, procCpuS, procMemMiB, quantile } from "./lib.ts";
import { lightSite, reportsPerSecond, statusReport } from "./ingest.ts";
import { progress } from "./rollout.ts";

/**
 * `pnpm bench fleet [--sites N] [--procs P] [--seconds S] [--no-write] [--profile DIR]`: one real hub process (its
 * embedded MQTT broker, its database file on disk) and N real sim agents from the fleet simulator,
 * each figure printed next to a baseline measured in the same run, and written to bench/RESULTS.md
 * (between the markers; the rest of that file is prose kept as it is):
 *
 * - how many sites one hub process holds, with the p50 / p99 latency of an agent's report POST and
 *   unchanged bundle check while it holds them (N MQTT sessions, then N HTTPS long-polls), against
 *   the same probe on the idle hub;
 * - time from `release assign` to 100% of the N sites holding (having verified and stored) the new
 *   bundle over MQTT and over the HTTPS long-poll; baseline: the assign call itself (signing N bundles);
 * - reports ingested per second over HTTPS, against the same rows inserted straight into a libSQL
 *   file on the same disk, one transaction per batch;
 * - the hub's and the simulator's CPU and memory in each phase.
 */
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
const RESULTS = join(import.meta.dirname, "RESULTS.md");
const BEGIN = "<!-- bench fleet: figures begin (written by `pnpm bench fleet`) -->";
const END = "<!-- bench fleet: figures end -->";

/** Latencies of the probe's requests; a failed one (a timeout under load) counts with the time it took. */
interface Probe { p50: number; p99: number; n: number; failed: number }

export async function benchFleet(args: string[]): Promise<void> {
  const n = argValue(args, "sites", 10_000);
  const procs = argValue(args, "procs", Math.max(1, Math.ceil(n / 1000)));
  const seconds = argValue(args, "seconds", 10);
  const write = !args.includes("--no-write");
  // --profile DIR: the hub runs under node --cpu-prof (written when it stops), for finding its bottleneck.
  const profileAt = args.indexOf("--profile");
  const nodeArgs = profileAt >= 0 ? ["--cpu-prof", `--cpu-prof-dir=${args[profileAt + 1] ?? "."}`] : [];
  const dir = mkdtempSync(join(tmpdir(), "outpost-bench-fleet-"));
  const adminToken = `opa_${randomBytes(32).toString("base64url")}`;
  const hub = spawnOutpost("hub", ["hub", "start", "--data-dir", join(dir, "hub"), "--port", "0"], {
    OUTPOST_ADMIN_TOKEN: adminToken, OUTPOST_LOG_LEVEL: "error", OUTPOST_MQTT_PORT: "0", OUTPOST_MQTT_WS_PORT: "off", OUTPOST_ROLLOUT_TICK_SECONDS: "0",
  }, { nodeArgs });
  const lines: string[] = [];
  const say = (s: string) => { console.log(s); lines.push(s); };
  let fleet: FleetSimulator | null = null;
  try {
    const url = (await hub.waitForOutput(/outpost hub listening on (\S+)/))[1]!;
    await hub.waitForOutput(/mqtt broker \(embedded\)/);
    const hubPid = hub.child.pid!;
    const op = new OperatorClient(url, adminToken);
    say(`bench fleet: ${machine()}; one hub process (embedded broker, database on disk), ${n} real sim agents in ${procs} simulator process(es), loopback`);
    await op.createRelease(storeRelease("1.0"));
    await op.createRelease(storeRelease("1.1", { instances: 3 }));
    await op.createRelease(storeRelease("1.2", { instances: 2 }));

    // The latency probe: one more site, a light client (real key, real request JWTs), asking what a
    // site asks all day: "anything new?" (wait=0, answered 204) and "here are my reports".
    const { token: probeToken } = await op.createToken({ autoApprove: true, uses: 200 });
    const probe = (await lightSite(url, probeToken, "probe-00000")).client;
    const probeOnce = async (): Promise<Probe> => {
      const ms: number[] = [];
      let failed = 0;
      const timed = async (call: () => Promise<unknown>) => {
        const t = performance.now();
        try { await call(); } catch { failed++; }
        ms.push(performance.now() - t);
      };
      for (const end = Date.now() + seconds * 1000; Date.now() < end;) {
        await timed(() => probe.bundle(0, 0));
        await timed(() => probe.reports([statusReport()]));
        await wait(20); // a probe, not a load: ~40 requests a second
      }
      return { p50: quantile(ms, 0.5), p99: quantile(ms, 0.99), n: ms.length, failed };
    };
    const idle = await probeOnce();
    const hubIdle = { rss: procMemMiB(hubPid) };
    say(`  idle hub: agent request p50 ${idle.p50.toFixed(1)} ms, p99 ${idle.p99.toFixed(1)} ms (${idle.n} requests, ${idle.failed} failed); hub RSS ${hubIdle.rss.toFixed(0)} MiB`);

    // --- N sites on MQTT ------------------------------------------------------------------------
    const { token } = await op.createToken({ autoApprove: true, uses: n, expiresInHours: 24 });
    let t = performance.now();
    let cpu0 = procCpuS(hubPid);
    fleet = await FleetSimulator.start({ hubUrl: url, token, sites: n, procs, agent: { transport: "mqtt" }, onProgress: progress("started on MQTT") });
    const enrollS = (performance.now() - t) / 1000;
    const enrollHubCpu = procCpuS(hubPid) - cpu0;
    process.stdout.write("\r\x1b[K");
    say(`  ${n} sites enrolled, approved and connected over MQTT in ${enrollS.toFixed(0)} s (${(n / enrollS).toFixed(0)} sites/s; hub CPU ${(enrollHubCpu / enrollS).toFixed(2)} cores; state files on ${fleet.onTmpfs ? "tmpfs" : "disk"})`);
    await wait(30_000); // past the enrolment burst (first reports, outbox flushes): what holding them costs at rest
    const heldMqtt = await holding(hubPid, probeOnce, seconds);
    say(`  holding ${n} MQTT sessions: agent request p50 ${heldMqtt.probe.p50.toFixed(1)} ms (x${(heldMqtt.probe.p50 / idle.p50).toFixed(1)} idle), p99 ${heldMqtt.probe.p99.toFixed(1)} ms (x${(heldMqtt.probe.p99 / idle.p99).toFixed(1)}; ${heldMqtt.probe.failed} of ${heldMqtt.probe.n} failed); hub RSS ${heldMqtt.rss.toFixed(0)} MiB (${(((heldMqtt.rss - hubIdle.rss) * 1024) / n).toFixed(1)} KiB per site), hub CPU at rest ${heldMqtt.cores.toFixed(3)} cores`);

    const mqttDelivery = await deliver(op, fleet, hubPid, "1.0", 1);
    say(`  assign -> 100% of ${n} sites hold the verified bundle over MQTT: ${mqttDelivery.totalS.toFixed(1)} s (p50 site ${mqttDelivery.p50S.toFixed(1)} s); baseline, the assign call signing ${n} bundles: ${mqttDelivery.assignS.toFixed(1)} s; hub CPU ${mqttDelivery.cores.toFixed(2)} cores, the ${n} sites ${mqttDelivery.simCores.toFixed(2)} cores`);

    // --- the same N sites on the HTTPS long-poll -----------------------------------------------
    t = performance.now();
    await fleet.restart({ transport: "https" });
    process.stdout.write("\r\x1b[K");
    say(`  ${n} agents restarted on the HTTPS long-poll (55 s) in ${((performance.now() - t) / 1000).toFixed(0)} s`);
    await wait(60_000); // every agent's first long-poll (55 s) reaches the hub and is held, and the restart burst is over
    const heldHttps = await holding(hubPid, probeOnce, seconds);
    say(`  holding ${n} long-polls: agent request p50 ${heldHttps.probe.p50.toFixed(1)} ms (x${(heldHttps.probe.p50 / idle.p50).toFixed(1)} idle), p99 ${heldHttps.probe.p99.toFixed(1)} ms (x${(heldHttps.probe.p99 / idle.p99).toFixed(1)}; ${heldHttps.probe.failed} of ${heldHttps.probe.n} failed); hub RSS ${heldHttps.rss.toFixed(0)} MiB (${(((heldHttps.rss - hubIdle.rss) * 1024) / n).toFixed(1)} KiB per site), hub CPU at rest ${heldHttps.cores.toFixed(3)} cores`);
    const httpsDelivery = await deliver(op, fleet, hubPid, "1.1", 2);
    say(`  assign -> 100% of ${n} sites hold the verified bundle over HTTPS: ${httpsDelivery.totalS.toFixed(1)} s (p50 site ${httpsDelivery.p50S.toFixed(1)} s); baseline, the assign call: ${httpsDelivery.assignS.toFixed(1)} s; hub CPU ${httpsDelivery.cores.toFixed(2)} cores, the ${n} sites ${httpsDelivery.simCores.toFixed(2)} cores`);

    // --- reports ingested per second ------------------------------------------------------------
    const ingest = await reportsPerSecond(url, probeToken, seconds, dir, hubPid);
    say(`  reports ingested over HTTPS (${ingest.sites} sites, ${ingest.concurrency} in flight, ${ingest.batch} per POST, ${n} long-polls still held): ${ingest.perSecond.toFixed(0)} reports/s (${ingest.requestsPerSecond.toFixed(0)} POSTs/s, p99 ${ingest.p99.toFixed(0)} ms); baseline, the same rows into a libSQL file on the same disk, one transaction per batch: ${ingest.baselinePerSecond.toFixed(0)} reports/s (ratio ${(ingest.perSecond / ingest.baselinePerSecond).toFixed(2)}); hub CPU ${ingest.cores.toFixed(2)} cores`);

    const sim = await fleet.stats();
    const simRss = sim.reduce((a, s) => a + s.rssKiB, 0) / 1024;
    say(`  hub peak RSS ${procMemMiB(hubPid, "VmHWM").toFixed(0)} MiB; simulator ${sim.length} processes, ${simRss.toFixed(0)} MiB RSS now (${((simRss * 1024) / n).toFixed(0)} KiB per simulated site), ${sim.reduce((a, s) => a + s.cpuS, 0).toFixed(0)} CPU s in all`);

    if (write) writeResults(lines, { n, procs });
  } finally {
    await fleet?.close();
    await hub.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The probe while the hub holds the fleet, and the hub's memory and resting CPU meanwhile. */
async function holding(hubPid: number, probeOnce: () => Promise<Probe>, seconds: number) {
  const cpu0 = procCpuS(hubPid);
  const t0 = performance.now();
  await wait(seconds * 1000); // at rest first: what holding N sites costs with nothing happening
  const cores = (procCpuS(hubPid) - cpu0) / ((performance.now() - t0) / 1000);
  return { probe: await probeOnce(), rss: procMemMiB(hubPid), cores };
}

async function deliver(op: OperatorClient, fleet: FleetSimulator, hubPid: number, release: string, version: number) {
  const cpu0 = procCpuS(hubPid);
  const sim0 = (await fleet.stats()).reduce((a, s) => a + s.cpuS, 0);
  const start = Date.now();
  await op.assign({ name: "store", version: release }, "");
  const assignS = (Date.now() - start) / 1000;
  const times = await fleet.waitAccepted(version, 600_000, (held) => process.stdout.write(`\r\x1b[K  ${held} / ${fleet.total} sites hold v${version}...`));
  process.stdout.write("\r\x1b[K");
  const totalS = (Math.max(...times) - start) / 1000;
  // Every site verifies, stores and applies the bundle, so the simulated sites' own work (all of them
  // on this machine's cores) bounds the figure too: say how much of the machine they took.
  const simCores = ((await fleet.stats()).reduce((a, s) => a + s.cpuS, 0) - sim0) / ((Date.now() - start) / 1000);
  return { assignS, totalS, p50S: (quantile(times, 0.5) - start) / 1000, cores: (procCpuS(hubPid) - cpu0) / totalS, simCores };
}

function writeResults(lines: string[], o: { n: number; procs: number }): void {
  const block = [
    BEGIN,
    `Run ${new Date().toISOString().slice(0, 16)}Z on ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB: \`pnpm bench fleet --sites ${o.n} --procs ${o.procs}\``,
    "",
    "```",
    ...lines,
    "```",
    END,
  ].join("\n");
  const old = existsSync(RESULTS) ? readFileSync(RESULTS, "utf8") : `# Benchmark results\n\n${BEGIN}\n${END}\n`;
  const at = old.indexOf(BEGIN), to = old.indexOf(END);
  const next = at >= 0 && to > at ? old.slice(0, at) + block + old.slice(to + END.length) : `${old.trimEnd()}\n\n${block}\n`;
  writeFileSync(RESULTS, next);
  console.log(`  figures written to ${RESULTS}`);
}
