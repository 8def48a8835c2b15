import { z } from "zod";
import { EventType, type EventBody } from "@outpost/shared";
import { currentBundle } from "./store/bundles.ts";
import { openStore } from "./store/db.ts";
import { journalRecent } from "./store/journal.ts";
import { KV, kvGet } from "./store/kv.ts";
import { outboxCount } from "./store/outbox.ts";
import { isStale, readReconcileRecord } from "./reconcile/record.ts";
import { isEnrolled, readEnrollment } from "./trust/enroll.ts";
import type { SiteState } from "@outpost/shared";
import { freeBytes } from "./report/storage.ts";
import type { HubLinkRecord } from "./sync/link.ts";

/**
 * Read-only status for the technician on site (`outpost agent status`): everything comes from the
 * state file, so it answers with the hub unreachable and while the agent runs (WAL readers never
 * block the writer). It does not create or change anything.
 */
export interface AgentStatus {
  site: string | null;
  hubUrl: string | null;
  enrolled: boolean;
  enrollment: string | null;
  bundleVersion: number | null;
  release: { name: string; version: string } | null;
  expiresAt: string | null;
  stale: boolean;
  lastAppliedAt: string | null;
  appliedVersion: number | null;
  state: SiteState;
  pendingSteps: number;
  /** Why the state is what it is, when it is not simply in sync (failed steps, steps waiting for a window). */
  message: string | null;
  pendingReports: number;
  /** How the agent's last exchanges with the hub went (sync/link.ts); null before the first. */
  hub: HubLinkRecord | null;
  /** Space left for the state file: at 0 the agent can record nothing, so it changes nothing. */
  stateDirFreeBytes: number | null;
  recentEvents: { at: string; type: string; severity: string; message: string; code?: string }[];
}

const AgentInfo = z.object({ site: z.string(), hubUrl: z.string() }).partial();
const EVENT_TYPES = new Set<string>(EventType.options);

export async function readAgentStatus(stateDir: string, now = new Date()): Promise<AgentStatus> {
  const store = await openStore(stateDir, { create: false });
  try {
    const db = store.db;
    const info = AgentInfo.safeParse(await kvGet(db, KV.agent));
    const [bundle, rec, enrollment, pendingReports, journal, link] = await Promise.all([
      currentBundle(db), readReconcileRecord(db), readEnrollment(store), outboxCount(db),
      journalRecent(db, { limit: 20, typePrefix: "event:" }), kvGet(db, KV.hubLink),
    ]);
    return {
      site: (info.success && info.data.site) || null,
      hubUrl: (info.success && info.data.hubUrl) || null,
      enrolled: isEnrolled(enrollment),
      enrollment: enrollment?.status ?? null,
      bundleVersion: bundle?.version ?? null,
      release: bundle ? { ...bundle.payload.release } : null,
      expiresAt: bundle?.payload.expiresAt ?? null,
      stale: isStale(bundle?.payload.expiresAt, now),
      lastAppliedAt: rec.lastAppliedAt,
      appliedVersion: rec.appliedVersion,
      state: bundle ? rec.state : "pending",
      pendingSteps: rec.pendingSteps,
      message: rec.message ?? null,
      pendingReports,
      hub: (link as HubLinkRecord | undefined) ?? null,
      stateDirFreeBytes: freeBytes(stateDir),
      // Every event is journaled when emitted (sent or still queued), so the journal alone is the history.
      recentEvents: journal
        .filter((j) => EVENT_TYPES.has(j.type.slice("event:".length)))
        .map((j) => {
          const b = j.detail as Partial<EventBody>;
          return { at: j.at, type: j.type.slice("event:".length), severity: b.severity ?? "info", message: b.message ?? "", ...(b.code ? { code: b.code } : {}) };
        }),
    };
  } finally { store.close(); }
}
