/**
 * SIMULATION DRIVER. Nothing here touches a real LXD, OVN, Ceph or package manager: the "site" is
 * a set of rows in the agent's own state file (tables sim_*). It exists so the whole agent loop
 * (sync, trust, plan, ordered apply, self-heal, quarantine, reporting) runs and is tested end to
 * end on any machine; real drivers implement the same Driver interface later.
 *
 * Knobs: `stepDelayMs` (OUTPOST_SIM_STEP_DELAY_MS) makes each apply take that long, so a test can
 * SIGKILL the agent mid-apply; `fail` (OUTPOST_SIM_FAIL) and the sim_faults table name objects
 * whose apply throws, to exercise retries and quarantine.
 */
import type { Spec } from "@outpost/shared";
import { sleep } from "../../lib/sleep.ts";
import type { Store } from "../../store/db.ts";
import { DRIVER_ORDER, type Driver, type DriverName, type Step } from "../types.ts";
import { desiredObjects, type SimObserved } from "../objects/desired.ts";
import { planObjects } from "../objects/plan.ts";
import { deleteOwned, faultNames, readSimRows, upsertOwned } from "./tables.ts";

export interface SimOptions { stepDelayMs: number; fail: readonly string[] }

export class SimFault extends Error {
  constructor(step: Step) {
    super(`simulated failure applying ${step.kind} ${step.name} (${step.action}): fault injected by OUTPOST_SIM_FAIL / sim_faults`);
    this.name = "SimFault";
  }
}

class SimDriver implements Driver<SimObserved> {
  constructor(readonly name: DriverName, private readonly store: Store, private readonly opts: SimOptions) {}

  async observe(): Promise<SimObserved> {
    return { objects: await readSimRows(this.store.db, this.name) };
  }

  plan(desired: Spec, observed: SimObserved): Step[] {
    return planObjects(this.name, desiredObjects(desired, this.name), observed);
  }

  async apply(step: Step, signal?: AbortSignal): Promise<void> {
    if (this.opts.stepDelayMs > 0 && !(await sleep(this.opts.stepDelayMs, signal))) {
      // Abandoned on shutdown before anything was written: the next run plans this step again.
      throw Object.assign(new Error(`apply of ${step.id} abandoned (agent stopping)`), { name: "AbortError" });
    }
    if (this.opts.fail.includes(step.name) || (await faultNames(this.store.db)).has(step.name)) throw new SimFault(step);
    // One statement, so the simulated object flips atomically: a crash leaves it before or after, never torn.
    await this.store.write([step.action === "delete" ? deleteOwned(step.kind, step.name) : upsertOwned(step.kind, step.name, step.after)]);
  }

  metrics(observed: SimObserved): Record<string, number> {
    const m: Record<string, number> = {};
    for (const o of observed.objects) {
      m[`sim.${o.kind}.count`] = (m[`sim.${o.kind}.count`] ?? 0) + 1;
      if (o.kind === "lxd.instance") {
        const state = o.fields.state === "stopped" ? "stopped" : "running";
        m[`sim.lxd.instance.${state}`] = (m[`sim.lxd.instance.${state}`] ?? 0) + 1;
      }
    }
    return m;
  }
}

/** One simulated driver per real one, all backed by the agent's state file (its sim_* tables must exist). */
export function createSimDrivers(store: Store, opts: SimOptions): Driver<SimObserved>[] {
  return DRIVER_ORDER.map((name) => new SimDriver(name, store, opts));
}
