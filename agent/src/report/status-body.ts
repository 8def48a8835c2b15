import type { Client } from "@libsql/client";
import type { StatusBody } from "@outpost/shared";
import { AGENT_VERSION } from "../lib/version.ts";
import { isStale, readReconcileRecord } from "../reconcile/record.ts";
import { currentBundle } from "../store/bundles.ts";

/** The status report, read from the state file alone (the reconciler's record and the last good bundle). */
export async function buildStatusBody(db: Pick<Client, "execute">, now = new Date()): Promise<StatusBody> {
  const [bundle, rec] = await Promise.all([currentBundle(db), readReconcileRecord(db)]);
  return {
    bundleVersion: bundle?.version ?? null,
    release: bundle ? { name: bundle.payload.release.name, version: bundle.payload.release.version } : null,
    state: bundle ? rec.state : "pending",
    stale: isStale(bundle?.payload.expiresAt, now),
    lastAppliedAt: rec.lastAppliedAt,
    pendingSteps: rec.pendingSteps,
    agentVersion: AGENT_VERSION,
    ...(rec.message ? { message: rec.message.slice(0, 2048) } : {}),
  };
}
