import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";
import { MAX_REPORTS_PER_FILE, signReportsFile } from "@outpost/shared";
import { KEY_FILE, loadOrCreateIdentity } from "../identity/keypair.ts";
import { enqueue, makeReport } from "../report/outbox.ts";
import { buildStatusBody } from "../report/status-body.ts";
import { openStore, STATE_FILE } from "../store/db.ts";
import { journalAppend } from "../store/journal.ts";
import { kvSet } from "../store/kv.ts";
import { outboxCount, outboxOldest } from "../store/outbox.ts";
import { loadTrust } from "../trust/trust-store.ts";
import { AirgapError } from "./errors.ts";

/** kv key of the last export (for the technician and for tests; nothing decides on it). */
export const KV_REPORTS_EXPORTED = "airgap.reportsExported";

export interface ExportReportsOptions {
  stateDir: string;
  /** The file to write (replaced atomically if it exists). */
  out: string;
  outboxMax: number;
}

export interface ExportReportsResult {
  site: string;
  file: string;
  count: number;
  firstId: string;
  lastId: string;
  sha256: string;
  /** Reports still queued after the export (all of them: see below). */
  pending: number;
}

/**
 * `outpost agent export-reports`: the outbox, oldest first, into one file signed with the agent's
 * own key (the hub checks it against the key it approved for this site).
 *
 * The reports are NOT deleted from the outbox. A file carried by hand can be lost; the hub's
 * ingestion is idempotent by report id, so keeping them costs nothing: the next export carries
 * them again (importing overlapping files stores each report once) and, should the site ever reach
 * the hub, the flusher sends them and deletes them on the hub's ack, as always. The outbox's own
 * bound (telemetry dropped first, events never) keeps it from growing without limit meanwhile.
 * A fresh status report is queued first, so the file always says where the site stands now.
 */
export async function exportReports(o: ExportReportsOptions): Promise<ExportReportsResult> {
  if (!existsSync(path.join(o.stateDir, STATE_FILE)) || !existsSync(path.join(o.stateDir, KEY_FILE))) {
    throw new AirgapError("NOT_ENROLLED", `no enrolled agent in ${o.stateDir} (state.db and agent.key are needed to sign the reports)`);
  }
  const identity = await loadOrCreateIdentity(o.stateDir);
  const store = await openStore(o.stateDir);
  try {
    const trust = await loadTrust(store.db);
    if (!trust) throw new AirgapError("NOT_ENROLLED", `the agent in ${o.stateDir} never enrolled: it has no reports the hub would accept`);
    const now = new Date();
    await enqueue(store, [makeReport({ kind: "status", body: await buildStatusBody(store.db, now) }, now)], o.outboxMax);
    const items = await outboxOldest(store.db, MAX_REPORTS_PER_FILE);
    const file = await signReportsFile({ site: trust.site, createdAt: now.toISOString(), reports: items }, identity.privateKey, identity.kid);
    const text = JSON.stringify(file) + "\n";
    const tmp = `${o.out}.tmp-${process.pid}`;
    await fsp.writeFile(tmp, text, { mode: 0o644 });
    const fh = await fsp.open(tmp, "r");
    try { await fh.sync(); } finally { await fh.close(); }
    await fsp.rename(tmp, o.out);
    const result: ExportReportsResult = {
      site: trust.site, file: path.resolve(o.out), count: items.length,
      firstId: items[0]!.id, lastId: items[items.length - 1]!.id,
      sha256: createHash("sha256").update(text).digest("hex"),
      pending: await outboxCount(store.db),
    };
    const record = { at: now.toISOString(), file: result.file, count: result.count, firstId: result.firstId, lastId: result.lastId, sha256: result.sha256 };
    await store.write([kvSet(KV_REPORTS_EXPORTED, record), journalAppend("reports-exported", record)]);
    return result;
  } finally { store.close(); }
}
