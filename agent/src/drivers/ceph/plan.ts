/**
 * The Ceph driver's decisions, pure (no I/O): the plan, and the refusals that keep it from ever
 * destroying data.
 *
 * The plan is the shared object diff (objects/plan.ts): create what is missing, update what differs,
 * delete what Outpost owns and the spec dropped, never touch what is unmarked. What the diff cannot
 * know is that some of those steps would lose data; those steps are still planned (so the site
 * reports them as failing, with the reason, instead of claiming to be in sync) and their apply
 * refuses them with the messages below:
 * - an RBD image only grows: a smaller sizeMiB is refused (Ceph itself would need --allow-shrink,
 *   which Outpost never passes);
 * - an RBD image dropped from the spec goes to the RBD trash (`rbd trash mv`), not away: it stays
 *   restorable with `rbd trash restore` until someone purges it. An image with watchers (in use by
 *   a VM or a mapping) is refused;
 * - a pool dropped from the spec is deleted only when it holds nothing: no images, none in the
 *   trash, no other objects than RBD's own bookkeeping. Ceph also needs `mon allow pool delete`;
 *   without it the step fails with Ceph's own message.
 */
import type { Spec } from "@outpost/shared";
import type { Step } from "../types.ts";
import { desiredObjects, type ObservedObjects } from "../objects/desired.ts";
import { planObjects } from "../objects/plan.ts";

export function planCeph(spec: Spec, observed: ObservedObjects): Step[] {
  return planObjects("ceph", desiredObjects(spec, "ceph"), observed);
}

export function shrinkRefusal(image: string, currentMiB: number, desiredMiB: number): string | undefined {
  if (!(desiredMiB < currentMiB)) return undefined;
  return `refusing to shrink RBD image ${image} from ${currentMiB} MiB to ${desiredMiB} MiB: shrinking destroys the data past the new end. `
    + `Set sizeMiB back to at least ${currentMiB}, or shrink it by hand (rbd resize --allow-shrink) if that is really meant`;
}

/** A step Outpost will not apply whatever the cluster looks like, with the reason; checked before any command runs. */
export function stepRefusal(step: Pick<Step, "kind" | "name" | "action" | "before" | "after">): string | undefined {
  if (step.kind === "ceph.rbd-image" && step.action === "update") {
    const before = (step.before as { sizeMiB?: unknown } | undefined)?.sizeMiB;
    const after = (step.after as { sizeMiB?: unknown } | undefined)?.sizeMiB;
    if (typeof before === "number" && typeof after === "number") return shrinkRefusal(step.name, before, after);
  }
  return undefined;
}

/**
 * Objects RBD creates in any pool it uses, which hold no user data: a pool holding only these is
 * empty. Everything else (rbd_header.*, rbd_data.*, rbd_id.* — live or trashed images — or any
 * RGW/CephFS/librados object) is data.
 */
const HOUSEKEEPING = new Set(["rbd_info", "rbd_directory", "rbd_trash", "rbd_children", "rbd_mirroring", "rbd_namespace", "rbd_group_directory"]);

export function isHousekeepingObject(name: string): boolean {
  return HOUSEKEEPING.has(name);
}

export interface PoolContents {
  /** Live RBD images. */
  images: number;
  /** Images in the RBD trash. */
  trashed: number;
  /** The first object found that is not RBD bookkeeping, if any. */
  dataObject?: string;
}

export function poolDeletionRefusal(pool: string, c: PoolContents): string | undefined {
  if (c.images === 0 && c.trashed === 0 && c.dataObject === undefined) return undefined;
  const what = [
    c.images ? `${c.images} RBD image(s)` : "",
    c.trashed ? `${c.trashed} image(s) in the RBD trash (purge with: rbd trash purge ${pool})` : "",
    !c.images && !c.trashed && c.dataObject !== undefined ? `objects (e.g. ${c.dataObject})` : "",
  ].filter(Boolean).join(" and ");
  return `refusing to delete pool ${pool}: it still holds ${what}. Outpost deletes only empty pools; empty it by hand, or keep it in the spec`;
}
