import type { Db } from "../store/sqlite.ts";
import type { StatusBody } from "@outpost/shared";
import { AGENT_VERSION } from "../lib/version.ts";
import { isStale, readReconcileRecord, type ReconcileRecord } from "../reconcile/record.ts";
import { currentBundle } from "../store/bundles.ts";

/** The status report, read from the state file alone (the reconciler's record and the last good bundle). */
export async function buildStatusBody(db: Pick<Db, "execute">, now = new Date()): Promise<StatusBody> {
  const [bundle, rec] = await Promise.all([currentBundle(db), readReconcileRecord(db)]);
  return {
    bundleVersion: bundle?.version ?? null,
    release: bundle ? { name: bundle.payload.release.name, version: bundle.payload.release.version } : null,
    state: bundle ? stateFor(bundle.version, rec) : "pending",
    stale: isStale(bundle?.payload.expiresAt, now),
    lastAppliedAt: rec.lastAppliedAt,
    pendingSteps: rec.pendingSteps,
    agentVersion: AGENT_VERSION,
    ...(rec.message ? { message: rec.message.slice(0, 2048) } : {}),
  };
}

/**
 * The reconciler's record describes the bundle it last ran. Between a new bundle being accepted and
 * its first run, that is still the OLD bundle's "in-sync" (or degraded, or failed): reported next
 * to the new version it would tell the hub the new bundle is applied and healthy, and a rollout
 * would count a site that has not applied anything yet. Until the record concerns this version,
 * the honest state is "applying".
 */
function stateFor(version: number, rec: ReconcileRecord): StatusBody["state"] {
  if (rec.appliedVersion === version || rec.applyFailedVersion === version) return rec.state;
  return rec.state === "pending" ? "pending" : "applying";
}
