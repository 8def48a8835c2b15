import type { Spec } from "@outpost/shared";

/**
 * What every driver (ceph, ovn, lxd, host; today only their simulation) offers the reconciler:
 * observe the world, plan the steps from it to the desired spec (pure: no I/O, same inputs same
 * steps), and apply one step at a time.
 */
export type DriverName = "ceph" | "ovn" | "lxd" | "host";

/** The order a site is built in (DESIGN §4): storage, then networks, then instances, then the host. */
export const DRIVER_ORDER: readonly DriverName[] = ["ceph", "ovn", "lxd", "host"];

export type StepAction = "create" | "update" | "delete" | "start" | "stop";

export interface Step {
  /** driver/kind/name/action: stable across runs, so retries and quarantine can be keyed on it. */
  id: string;
  driver: DriverName;
  /** "<driver>.<object kind>", e.g. "lxd.instance", "ovn.switch", "ceph.pool". */
  kind: string;
  name: string;
  action: StepAction;
  /** The object as observed (absent for create). */
  before?: unknown;
  /** The object as desired (absent for delete). */
  after?: unknown;
  /** Interrupts workloads (kernel, LXD upgrade): DESIGN wants these inside maintenance windows. */
  disruptive?: boolean;
}

export function stepId(s: Pick<Step, "driver" | "kind" | "name" | "action">): string {
  return `${s.driver}/${s.kind}/${s.name}/${s.action}`;
}

export function makeStep(s: Omit<Step, "id">): Step {
  return { id: stepId(s), ...s };
}

export interface Driver<Observed = unknown> {
  readonly name: DriverName;
  observe(): Promise<Observed>;
  /** Pure: the steps that take `observed` to `desired`, in any order (the reconciler orders them). */
  plan(desired: Spec, observed: Observed): Step[];
  /** Applies one step. `signal` aborts a long step on shutdown; a driver must then leave things consistent. */
  apply(step: Step, signal?: AbortSignal): Promise<void>;
  /** Numbers for telemetry from what observe() returned (object counts, states). */
  metrics?(observed: Observed): Record<string, number>;
}
