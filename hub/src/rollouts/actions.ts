import type { RolloutAction, RolloutStatus } from "@outpost/shared";

/**
 * What each operator action does to a rollout's position, or why it is refused (pure). The store
 * carries it out; start also plans the waves and rollback also issues the bundles.
 */
export interface ActionRollout {
  status: RolloutStatus;
  pauseReason: "operator" | "wave-failed" | null;
  currentWave: number;
  waveState: "active" | "done";
  waveChangedAt: Date | null;
  approvedWave: number;
  waivedWave: number;
  waveCount: number;
  approval: "automatic" | "manual";
}

export type ActionResult =
  | { ok: true; next: ActionRollout }
  | { ok: false; code: string; message: string };

const refuse = (code: string, message: string): ActionResult => ({ ok: false, code, message });

export function operatorAction(r: ActionRollout, action: RolloutAction, now: Date): ActionResult {
  const is = (...s: RolloutStatus[]) => s.includes(r.status);
  switch (action) {
    case "start":
      if (!is("created")) return refuse("ROLLOUT_ALREADY_STARTED", `rollout is ${r.status}; only a created rollout can start`);
      // Wave 0 (the canary) is approved by starting; its window and budget still apply.
      return { ok: true, next: { ...r, status: "running", currentWave: -1, waveState: "done", waveChangedAt: now, approvedWave: 0, waivedWave: -1 } };
    case "pause":
      if (!is("running")) return refuse("ROLLOUT_NOT_RUNNING", `rollout is ${r.status}; only a running rollout can pause`);
      return { ok: true, next: { ...r, status: "paused", pauseReason: "operator" } };
    case "resume":
      if (!is("paused")) return refuse("ROLLOUT_NOT_PAUSED", `rollout is ${r.status}; only a paused rollout can resume`);
      // Resuming after a failed wave accepts its failures: the wave carries on and ends without its threshold.
      return { ok: true, next: { ...r, status: "running", pauseReason: null, waivedWave: r.pauseReason === "wave-failed" ? r.currentWave : r.waivedWave } };
    case "approve": {
      if (r.approval !== "manual") return refuse("APPROVAL_NOT_REQUIRED", "this rollout's approval mode is automatic: waves begin without approval");
      if (!is("running", "paused")) return refuse("ROLLOUT_NOT_ACTIVE", `rollout is ${r.status}; there is no next wave to approve`);
      const next = r.currentWave + 1;
      if (next >= r.waveCount) return refuse("NO_NEXT_WAVE", "the current wave is the last one; there is no next wave to approve");
      if (r.approvedWave >= next) return refuse("ALREADY_APPROVED", `wave ${next + 1} is already approved`);
      return { ok: true, next: { ...r, approvedWave: next } };
    }
    case "abort":
      if (!is("created", "running", "paused")) return refuse("ROLLOUT_FINISHED", `rollout is ${r.status}; there is nothing to abort`);
      return { ok: true, next: { ...r, status: "aborted", pauseReason: null } };
    case "rollback":
      if (is("created")) return refuse("ROLLOUT_NOT_STARTED", "rollout never started: no site got its release, there is nothing to roll back");
      if (is("rolled-back")) return refuse("ALREADY_ROLLED_BACK", "rollout was already rolled back");
      return { ok: true, next: { ...r, status: "rolled-back", pauseReason: null } };
  }
}
