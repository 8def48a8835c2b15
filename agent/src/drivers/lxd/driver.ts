/**
 * The real LXD driver: observe over LXD's REST API, plan with the pure planner, apply one step.
 *
 * Artifacts: the Driver interface hands plan() only the Spec, but `{artifact: name}` images need
 * the bundle's artifacts[]. `currentArtifacts()` (the last good bundle's artifacts) is read once
 * per observe() and carried in the observed value, so plan() stays a pure function of its inputs;
 * apply() reads it again to fetch the artifact it imports.
 */
import type { Artifact, Spec } from "@outpost/shared";
import type { ArtifactSource } from "../../artifacts/types.ts";
import type { Driver, Step } from "../types.ts";
import { applyLxdStep, type LxdLog } from "./apply.ts";
import { LxdClient } from "./client.ts";
import { lxdMetrics } from "./metrics.ts";
import type { LxdObserved } from "./normalize.ts";
import { observeLxd } from "./observe.ts";
import { planLxd } from "./plan.ts";

export interface LxdDriverOptions {
  /** LXD's unix socket; default /var/lib/lxd/unix.socket (the snap uses /var/snap/lxd/common/lxd/unix.socket). */
  socketPath?: string;
  /** Where `{artifact: name}` images come from (verified local files). */
  artifacts: ArtifactSource;
  /** The artifacts of the bundle being enforced. */
  currentArtifacts: () => readonly Artifact[];
  /** Graceful stop budget before a forced stop (default 30 s; 0 forces at once). */
  stopTimeoutSeconds?: number;
  /** Longest wait for one LXD background operation (default 10 min: large image imports). */
  operationTimeoutMs?: number;
  log?: LxdLog;
}

export function createLxdDriver(opts: LxdDriverOptions): Driver<LxdObserved> {
  const client = new LxdClient({ socketPath: opts.socketPath, operationTimeoutMs: opts.operationTimeoutMs });
  const deps = {
    client,
    artifacts: opts.artifacts,
    currentArtifacts: opts.currentArtifacts,
    stopTimeoutSeconds: opts.stopTimeoutSeconds ?? 30,
    log: opts.log,
  };
  return {
    name: "lxd",
    observe: () => observeLxd(client, opts.currentArtifacts()),
    plan: (desired: Spec, observed: LxdObserved) => planLxd(desired, observed),
    apply: (step: Step, signal?: AbortSignal) => applyLxdStep(deps, step, signal),
    metrics: lxdMetrics,
  };
}
