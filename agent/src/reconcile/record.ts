import type { Db } from "../store/sqlite.ts";
import { z } from "zod";
import { SiteState } from "@outpost/shared";
import { KV, kvGet } from "../store/kv.ts";

/**
 * What the reconciler last concluded, kept in kv so status reports and the technician's status
 * command read one consistent answer (also while the agent is down).
 */
export const ReconcileRecord = z.object({
  state: SiteState,
  /** The bundle version every step of which has been applied (null before the first). */
  appliedVersion: z.number().int().nullable(),
  lastAppliedAt: z.string().nullable(),
  /** Version for which apply-failed was already reported (reported once per version). */
  applyFailedVersion: z.number().int().nullable(),
  /** Version for which the stale event was already emitted. */
  staleVersion: z.number().int().nullable(),
  pendingSteps: z.number().int().min(0),
  lastRunAt: z.string().nullable(),
  message: z.string().optional(),
});
export type ReconcileRecord = z.output<typeof ReconcileRecord>;

export const INITIAL_RECORD: ReconcileRecord = {
  state: "pending", appliedVersion: null, lastAppliedAt: null, applyFailedVersion: null, staleVersion: null, pendingSteps: 0, lastRunAt: null,
};

export async function readReconcileRecord(db: Pick<Db, "execute">): Promise<ReconcileRecord> {
  const raw = await kvGet(db, KV.reconcile);
  const r = ReconcileRecord.safeParse(raw);
  return r.success ? r.data : INITIAL_RECORD;
}

/** A bundle whose expiresAt has passed is still enforced, but the site says it is stale. */
export function isStale(expiresAt: string | undefined | null, now: Date): boolean {
  return !!expiresAt && Date.parse(expiresAt) <= now.getTime();
}
