import type { Spec } from "@outpost/shared";
import { desiredObjects, type ObservedObjects } from "./objects/desired.ts";
import { planObjects } from "./objects/plan.ts";
import type { Driver, DriverName, Step } from "./types.ts";

/**
 * Stands in for a driver this site does not run (e.g. a bundle with Ceph pools sent to a site
 * whose agent has no `ceph` in `drivers`). Without it those objects would be silently ignored and
 * the site would report itself in sync; with it they are planned and every step fails, saying why.
 * It observes nothing, so it never plans a deletion.
 */
export function unavailableDriver(name: DriverName, reason: string): Driver<ObservedObjects> {
  return {
    name,
    observe: async () => ({ objects: [] }),
    plan: (desired: Spec, observed: ObservedObjects) => planObjects(name, desiredObjects(desired, name), observed),
    apply: async (step: Step) => { throw new Error(`${step.kind} ${step.name}: ${reason}`); },
  };
}
