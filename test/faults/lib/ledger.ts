import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createClient } from "@libsql/client";
import { waitFor } from "../../lib/processes.ts";
import { withStateFile } from "../../lib/state-file.ts";

/**
 * "Nothing lost, nothing twice, in order": the events a site produced, read from its own journal
 * (every event is journaled in the transaction that queues it, and the journal is append-only),
 * against the events the hub stored for it, read from the hub's database in the order the rows were
 * inserted (SQLite's rowid), i.e. the order they arrived in.
 */
export interface Ledger {
  produced: number;
  stored: number;
  /** Produced but not at the hub. */
  missing: string[];
  /** Stored more than once (cannot happen with the primary key; counted to prove it). */
  duplicated: string[];
  /** At the hub but never produced by this site. */
  foreign: string[];
  /** Produced ids, in the order they were produced, that arrived out of that order. */
  outOfOrder: number;
  /** Produced ids whose ULID does not sort in production order (the outbox flushes by id). */
  idsUnsorted: number;
}

/** Event ids a site journaled, in the order it produced them (journal seq). */
export async function producedEvents(stateDir: string): Promise<string[]> {
  return withStateFile(stateDir, async (db) => (await db.execute("SELECT detail FROM journal WHERE type LIKE 'event:%' ORDER BY seq")).rows
    .map((r) => String((JSON.parse(String(r.detail)) as { id: string }).id)));
}

/** Event ids the hub stored for each site, in arrival order. One query for the whole fleet. */
export async function storedEvents(hubDataDir: string): Promise<Map<string, string[]>> {
  const db = createClient({ url: `file:${join(hubDataDir, "hub.db")}` });
  try {
    const rs = await db.execute("SELECT s.name AS site, r.id AS id FROM reports r JOIN sites s ON s.id = r.site_id WHERE r.kind = 'event' ORDER BY r.rowid");
    const out = new Map<string, string[]>();
    for (const r of rs.rows) {
      const site = String(r.site);
      if (!out.has(site)) out.set(site, []);
      out.get(site)!.push(String(r.id));
    }
    return out;
  } finally { db.close(); }
}

export function compareLedger(produced: readonly string[], stored: readonly string[]): Ledger {
  const seen = new Map<string, number>();
  for (const id of stored) seen.set(id, (seen.get(id) ?? 0) + 1);
  const mine = new Set(produced);
  const arrival = new Map(stored.map((id, i) => [id, i] as const));
  let outOfOrder = 0, idsUnsorted = 0, last = -1;
  for (let i = 0; i < produced.length; i++) {
    const at = arrival.get(produced[i]!);
    if (at !== undefined) { if (at < last) outOfOrder++; else last = at; }
    if (i > 0 && produced[i]! <= produced[i - 1]!) idsUnsorted++;
  }
  return {
    produced: produced.length,
    stored: stored.filter((id) => mine.has(id)).length,
    missing: produced.filter((id) => !seen.has(id)),
    duplicated: [...seen].filter(([, n]) => n > 1).map(([id]) => id),
    foreign: stored.filter((id) => !mine.has(id)),
    outOfOrder,
    idsUnsorted,
  };
}

/** Every site's ledger, summed, plus the per-site details of any that is not perfect. */
export async function fleetLedger(hubDataDir: string, sites: Record<string, string>): Promise<{ total: Ledger; bad: Record<string, Ledger> }> {
  const hub = await storedEvents(hubDataDir);
  const total: Ledger = { produced: 0, stored: 0, missing: [], duplicated: [], foreign: [], outOfOrder: 0, idsUnsorted: 0 };
  const bad: Record<string, Ledger> = {};
  for (const [site, dir] of Object.entries(sites)) {
    const l = compareLedger(await producedEvents(dir), hub.get(site) ?? []);
    total.produced += l.produced;
    total.stored += l.stored;
    total.missing.push(...l.missing);
    total.duplicated.push(...l.duplicated);
    total.foreign.push(...l.foreign);
    total.outOfOrder += l.outOfOrder;
    total.idsUnsorted += l.idsUnsorted;
    if (l.missing.length || l.duplicated.length || l.foreign.length || l.outOfOrder || l.idsUnsorted) bad[site] = l;
  }
  return { total, bad };
}

/** The hub's "request failed" log lines: one per 5xx answer. */
function failedRequests(hubOutput: string): string[] {
  return hubOutput.split("\n").filter((l) => l.includes('"msg":"request failed"') && /"status":5\d\d/.test(l));
}

/**
 * 503 on GET /agent/v1/mqtt is the hub saying, on purpose, that it cannot reach its external broker
 * right now (MQTT_UNAVAILABLE: retry later); the fault cases count those on their own.
 */
const brokerUnavailable = (l: string) => l.includes('"path":"/agent/v1/mqtt"') && l.includes('"status":503');

/** 5xx answers from the hub, from its own log, but for the deliberate 503 above. */
export function serverErrors(hubOutput: string): number {
  return failedRequests(hubOutput).filter((l) => !brokerUnavailable(l)).length;
}

export function brokerUnavailableAnswers(hubOutput: string): number {
  return failedRequests(hubOutput).filter(brokerUnavailable).length;
}

/** Waits until the hub holds every event each site journaled, then returns the fleet's ledger. */
export function fleetLedgerSettled(hubDataDir: string, sites: Record<string, string>, timeoutMs = 30_000): ReturnType<typeof fleetLedger> {
  return waitFor("every journaled event at the hub", async () => {
    const l = await fleetLedger(hubDataDir, sites);
    return l.total.missing.length === 0 ? l : null;
  }, timeoutMs);
}

/** The same for one site. */
export async function siteLedgerSettled(hubDataDir: string, site: string, stateDir: string, timeoutMs = 30_000): Promise<Ledger> {
  return waitFor(`every event ${site} journaled at the hub`, async () => {
    const l = compareLedger(await producedEvents(stateDir), (await storedEvents(hubDataDir)).get(site) ?? []);
    return l.missing.length === 0 ? l : null;
  }, timeoutMs);
}

/** CPU seconds (user + system) a process has used, from /proc: a retry loop without backoff shows here. */
export function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(f[11]) + Number(f[12])) / 100;
}
