import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  AgentClient, OperatorClient, importPrivate, newKeyPair, pinRoot, updateTrust,
  type KeyPairJwk, type TrustState,
} from "@outpost/shared";
import type { HubDb } from "../db/client.ts";
import { startHub, type RunningHub, type StartHubOptions } from "../main.ts";

/**
 * Test harness: a real hub on an ephemeral port over a real libSQL file in a temp dir, with the
 * shared clients pointed at it. Nothing here is a mock.
 */
export interface TestHub {
  hub: RunningHub;
  dir: string;
  op: OperatorClient;
  /** Stops the hub and removes its directory. */
  stop(): Promise<void>;
}

export function tempDir(prefix = "outpost-hub-"): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export async function startTestHub(opts: Partial<StartHubOptions> = {}): Promise<TestHub> {
  const dir = opts.dataDir ?? tempDir();
  const hub = await startHub({ port: 0, logLevel: "silent", ...opts, dataDir: dir });
  if (!hub.adminToken) throw new Error("test hubs start on a fresh directory");
  return {
    hub, dir,
    op: new OperatorClient(hub.url, hub.adminToken),
    stop: async () => { await hub.close(); fs.rmSync(dir, { recursive: true, force: true }); },
  };
}

export interface TestSite { name: string; key: KeyPairJwk; client: AgentClient }

export async function newSite(t: TestHub, name: string): Promise<TestSite> {
  const key = await newKeyPair();
  return { name, key, client: new AgentClient(t.hub.url, name, await importPrivate(key.privateJwk)) };
}

/** Enrolls a site with a fresh single-use token; approves it unless told not to. */
export async function enrolledSite(t: TestHub, name: string, opts: { labels?: Record<string, string>; approve?: boolean } = {}): Promise<TestSite> {
  const site = await newSite(t, name);
  const { token } = await t.op.createToken({ labels: opts.labels ?? {} });
  await site.client.enroll({ token, site: name, publicKey: site.key.publicJwk });
  if (opts.approve !== false) await t.op.approveSite(name);
  return site;
}

/** What an agent holds after enrolling with a token from this hub: the pinned root, then /keys applied. */
export async function agentTrust(t: TestHub, site: TestSite, pinnedHash = t.hub.rootHash, now = new Date()): Promise<TrustState> {
  const served = await site.client.keys();
  const pinned = served.roots.map((r) => { try { return pinRoot(r, pinnedHash); } catch { return null; } }).find((r) => r !== null);
  if (!pinned) throw new Error("no served root matches the pinned hash");
  return updateTrust({ site: site.name, root: pinned, keys: null, bundleVersion: 0 }, served, now);
}

/**
 * Row count and a hash of every row, per table: equal snapshots mean nothing was written. The audit
 * log is left out (recording refused calls is its job, hub/src/audit), and so is the rollout lease,
 * which the scheduler renews on its own timer. `ignore` leaves out more bookkeeping that a refused
 * agent request writes by design: the token ids it burnt (`used_jtis`), a site's `last_seen_at`.
 */
export async function snapshotDb(db: HubDb, ignore: { tables?: string[]; columns?: Record<string, string[]> } = {}): Promise<Record<string, { rows: number; hash: string }>> {
  const tables = await db.client.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT IN ('audit_log', 'leases') ORDER BY name");
  const out: Record<string, { rows: number; hash: string }> = {};
  for (const t of tables.rows) {
    const name = String(t.name);
    if (ignore.tables?.includes(name)) continue;
    const rows = await db.client.execute(`SELECT * FROM "${name}" ORDER BY rowid`);
    const skip = new Set(ignore.columns?.[name] ?? []);
    const kept = skip.size ? rows.rows.map((r) => rows.columns.map((c, i) => (skip.has(c) ? null : r[i]))) : rows.rows;
    const h = createHash("sha256").update(JSON.stringify(kept, (_k, v) => (typeof v === "bigint" ? v.toString() : v))).digest("hex");
    out[name] = { rows: rows.rows.length, hash: h };
  }
  return out;
}

/** Raw fetch with a bearer token: for the requests the typed clients would never send. */
export function raw(url: string, token: string | null, init: RequestInit & { json?: unknown } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (token) headers.set("authorization", `Bearer ${token}`);
  let body = init.body;
  if (init.json !== undefined) { body = JSON.stringify(init.json); headers.set("content-type", "application/json"); }
  return fetch(url, { ...init, headers, body });
}
