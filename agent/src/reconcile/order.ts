import { KIND_ORDER } from "../drivers/kinds.ts";
import { DRIVER_ORDER, type Step } from "../drivers/types.ts";

/**
 * Orders a plan (DESIGN §4): creates, updates, starts and stops go forward in dependency order
 * (ceph -> ovn -> lxd -> host; inside each driver by KIND_ORDER, e.g. LXD pools, networks,
 * profiles, then instances), then deletions go in exactly the reverse order.
 *
 * Deletions come last, not first: by then every surviving object has been moved off what is
 * being removed (an instance switched to its new profile before the old profile goes), so nothing
 * is deleted while something still refers to it. Names never collide, because a change to an
 * object that keeps its name is an update, not a delete plus a create.
 *
 * Pure and stable: steps of equal rank keep their input order.
 */
export function stepRank(step: Pick<Step, "driver" | "kind">): number {
  const d = DRIVER_ORDER.indexOf(step.driver);
  const kinds = KIND_ORDER[step.driver] ?? [];
  const k = kinds.indexOf(step.kind);
  // Unknown drivers/kinds sort after the known ones of their driver (and unknown drivers last).
  return (d < 0 ? DRIVER_ORDER.length : d) * 1000 + (k < 0 ? 999 : k);
}

export function orderSteps(steps: readonly Step[]): Step[] {
  const indexed = steps.map((s, i) => ({ s, i, r: stepRank(s) }));
  const forward = indexed.filter((x) => x.s.action !== "delete").sort((a, b) => a.r - b.r || a.i - b.i);
  const deletes = indexed.filter((x) => x.s.action === "delete").sort((a, b) => b.r - a.r || a.i - b.i);
  return [...forward, ...deletes].map((x) => x.s);
}
