import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@libsql/client";
import { monotonicFactory } from "ulid";
import { Agent, request as httpRequest } from "node:http";
import { AgentClient, HubError, OperatorClient, importPrivate, newKeyPair, signAgentJwt, type ReportItemInput } from "@outpost/shared";
import { spawnOutpost } from "../test/lib/processes.ts";
import { argValue, machine, procCpuS, quantile } from "./lib.ts";

/**
 * `pnpm bench ingest [--seconds S]`: reports stored per second through POST /agent/v1/reports by one
 * hub process, next to the same rows inserted straight into a libSQL file on the same disk (one
 * transaction per batch), measured in the same run. `pnpm bench fleet` runs the same measurement
 * while the hub holds a whole fleet.
 */
const ulid = monotonicFactory();
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function benchIngest(args: string[]): Promise<void> {
  const seconds = argValue(args, "seconds", 10);
  const dir = mkdtempSync(join(tmpdir(), "outpost-bench-ingest-"));
  const adminToken = `opa_${randomBytes(32).toString("base64url")}`;
  const profileAt = args.indexOf("--profile");
  const hub = spawnOutpost("hub", ["hub", "start", "--data-dir", join(dir, "hub"), "--port", "0"], {
    OUTPOST_ADMIN_TOKEN: adminToken, OUTPOST_LOG_LEVEL: "error", OUTPOST_MQTT: "off", OUTPOST_ROLLOUT_TICK_SECONDS: "0",
  }, { nodeArgs: profileAt >= 0 ? ["--cpu-prof", `--cpu-prof-dir=${args[profileAt + 1] ?? "."}`] : [] });
  try {
    const url = (await hub.waitForOutput(/outpost hub listening on (\S+)/))[1]!;
    const { token } = await new OperatorClient(url, adminToken).createToken({ autoApprove: true, uses: 200 });
    console.log(`bench ingest: ${machine()}; one hub process (database on disk), light clients in this process`);
    const r = await reportsPerSecond(url, token, seconds, dir, hub.child.pid!);
    console.log(`  reports ingested over HTTPS (${r.sites} sites, ${r.concurrency} in flight, ${r.batch} per POST): ${r.perSecond.toFixed(0)} reports/s (${r.requestsPerSecond.toFixed(0)} POSTs/s, p50 ${r.p50.toFixed(0)} ms, p99 ${r.p99.toFixed(0)} ms), hub CPU ${r.cores.toFixed(2)} cores`);
    console.log(`  baseline: the same rows into a libSQL file on the same disk, one transaction per batch: ${r.baselinePerSecond.toFixed(0)} reports/s   ratio ${(r.perSecond / r.baselinePerSecond).toFixed(2)}`);
  } finally {
    await hub.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface LightSite { name: string; client: AgentClient; key: CryptoKey }

/** An enrolled site as a light client: its own key pair and real request JWTs, no agent behind it. */
export async function lightSite(url: string, token: string, name: string): Promise<LightSite> {
  const keys = await newKeyPair();
  const key = await importPrivate(keys.privateJwk);
  const client = new AgentClient(url, name, key);
  // Enrolling again with the same key is idempotent: a connection reset under load is simply retried.
  for (let i = 0; ; i++) {
    try { await client.enroll({ token, site: name, publicKey: keys.publicJwk }); return { name, client, key }; } catch (e) {
      if (i >= 5 || !(e instanceof HubError) || !e.transient) throw e;
      await wait(500);
    }
  }
}

export function statusReport(): ReportItemInput {
  const at = new Date().toISOString();
  return { id: ulid(), at, kind: "status", body: { bundleVersion: 0, release: null, state: "in-sync", stale: false, lastAppliedAt: null, agentVersion: "bench" } };
}
export function eventReport(i: number): ReportItemInput {
  return { id: ulid(), at: new Date().toISOString(), kind: "event", body: { type: "drift-healed", message: `bench event ${i}`, details: { kind: "lxd.instance", name: `pos-${i % 10}` } } };
}

/**
 * Reports per second through POST /agent/v1/reports from `sites` light clients (real keys and
 * request JWTs), `concurrency` batches in flight; then the same rows straight into a libSQL file.
 */
export async function reportsPerSecond(url: string, token: string, seconds: number, dir: string, hubPid: number) {
  const sites = 100, concurrency = 64, batch = 20;
  const fleet = await Promise.all(Array.from({ length: sites }, (_, i) => lightSite(url, token, `ingest-${String(i).padStart(5, "0")}`)));
  // Request tokens are single-use and bodies carry fresh ids: make them all before the clock starts,
  // so the figure is the hub's, not this process signing on the same two cores.
  const planned = Math.min(60_000, seconds * 1500);
  const requests: { jwt: string; body: string }[] = [];
  for (let i = 0; i < planned; i += 500) {
    requests.push(...await Promise.all(Array.from({ length: Math.min(500, planned - i) }, async (_, j) => {
      const site = fleet[(i + j) % sites]!;
      const reports = Array.from({ length: batch }, (_, k) => (k === 0 ? statusReport() : eventReport(k)));
      return { jwt: await signAgentJwt(site.name, site.key), body: JSON.stringify({ reports }) };
    })));
  }
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const post = (r: { jwt: string; body: string }) => new Promise<number>((resolve, reject) => {
    const req = httpRequest(`${url}/agent/v1/reports`, { method: "POST", agent, headers: { authorization: `Bearer ${r.jwt}`, "content-type": "application/json" } }, (res) => {
      let text = "";
      res.setEncoding("utf8").on("data", (d: string) => { text += d; }).on("end", () => {
        if (res.statusCode !== 200) return reject(new Error(`POST /agent/v1/reports answered ${res.statusCode}: ${text.slice(0, 200)}`));
        resolve((JSON.parse(text) as { stored: number }).stored);
      });
    });
    req.on("error", reject);
    req.end(r.body);
  });
  const lat: number[] = [];
  let reports = 0, posts = 0, next = 0, notStored = 0;
  const cpu0 = procCpuS(hubPid);
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < end && next < requests.length) {
      const r = requests[next++]!;
      const t = performance.now();
      const got = await post(r);
      reports += got;
      notStored += batch - got;
      lat.push(performance.now() - t);
      posts++;
    }
  }));
  const elapsed = (performance.now() - t0) / 1000;
  const cores = (procCpuS(hubPid) - cpu0) / elapsed;
  agent.destroy();
  // Every id is new: a report acked but not stored would be a hub bug, not a figure.
  if (notStored) console.log(`  WARNING: ${notStored} reports were acked as duplicates although every id was new`);
  if (next >= requests.length) console.log(`  (note: all ${requests.length} prepared requests were sent before the ${seconds} s were up)`);

  // Baseline: the same rows (same columns, JSON bodies, ULID keys) into a libSQL file on the same disk.
  const db = createClient({ url: `file:${join(dir, "baseline.db")}` });
  await db.execute("PRAGMA journal_mode=WAL");
  await db.execute("CREATE TABLE reports (id TEXT PRIMARY KEY, site_id TEXT NOT NULL, kind TEXT NOT NULL, at INTEGER NOT NULL, received_at INTEGER NOT NULL, body TEXT NOT NULL)");
  await db.execute("CREATE INDEX reports_site_at ON reports (site_id, at)");
  let base = 0;
  const b0 = performance.now();
  for (const bend = Date.now() + seconds * 1000; Date.now() < bend;) {
    const items = Array.from({ length: batch }, (_, i) => (i === 0 ? statusReport() : eventReport(i)));
    await db.batch(items.map((r) => ({ sql: "INSERT INTO reports VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING", args: [r.id, "site", r.kind, Date.parse(r.at), Date.now(), JSON.stringify(r.body)] })), "write");
    base += batch;
  }
  const baselinePerSecond = base / ((performance.now() - b0) / 1000);
  db.close();
  return { sites, concurrency, batch, perSecond: reports / elapsed, requestsPerSecond: posts / elapsed, p50: quantile(lat, 0.5), p99: quantile(lat, 0.99), baselinePerSecond, cores };
}

