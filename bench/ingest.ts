import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@libsql/client";
import { monotonicFactory } from "ulid";
import { AgentClient, HubError, OperatorClient, importPrivate, newKeyPair, type ReportItemInput } from "@outpost/shared";
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
  }, profileAt >= 0 ? ["--cpu-prof", `--cpu-prof-dir=${args[profileAt + 1] ?? "."}`] : []);
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

export async function lightSite(url: string, token: string, name: string): Promise<AgentClient> {
  const keys = await newKeyPair();
  const client = new AgentClient(url, name, await importPrivate(keys.privateJwk));
  // Enrolling again with the same key is idempotent: a connection reset under load is simply retried.
  for (let i = 0; ; i++) {
    try { await client.enroll({ token, site: name, publicKey: keys.publicJwk }); return client; } catch (e) {
      if (i >= 5 || !(e instanceof HubError) || !e.transient) throw e;
      await wait(500);
    }
  }
}

export function statusReport(): ReportItemInput {
  const at = new Date().toISOString();
  return { id: ulid(), at, kind: "status", body: { bundleVersion: 0, release: null, state: "in-sync", stale: false, lastAppliedAt: null, agentVersion: "bench" } };
}
function eventReport(i: number): ReportItemInput {
  return { id: ulid(), at: new Date().toISOString(), kind: "event", body: { type: "drift-healed", message: `bench event ${i}`, details: { kind: "lxd.instance", name: `pos-${i % 10}` } } };
}

/**
 * Reports per second through POST /agent/v1/reports from `sites` light clients (real keys and
 * request JWTs), `concurrency` batches in flight; then the same rows straight into a libSQL file.
 */
export async function reportsPerSecond(url: string, token: string, seconds: number, dir: string, hubPid: number) {
  const sites = 100, concurrency = 64, batch = 20;
  const clients = await Promise.all(Array.from({ length: sites }, (_, i) => lightSite(url, token, `ingest-${String(i).padStart(5, "0")}`)));
  const lat: number[] = [];
  let reports = 0, posts = 0;
  const cpu0 = procCpuS(hubPid);
  const t0 = performance.now();
  const end = Date.now() + seconds * 1000;
  await Promise.all(Array.from({ length: concurrency }, async (_, w) => {
    for (let k = w; Date.now() < end; k += concurrency) {
      const items = Array.from({ length: batch }, (_, i) => (i === 0 ? statusReport() : eventReport(i)));
      const t = performance.now();
      const res = await clients[k % sites]!.reports(items);
      lat.push(performance.now() - t);
      reports += res.stored;
      posts++;
    }
  }));
  const elapsed = (performance.now() - t0) / 1000;
  const cores = (procCpuS(hubPid) - cpu0) / elapsed;

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

