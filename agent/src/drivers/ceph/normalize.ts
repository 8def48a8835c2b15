/**
 * What the ceph/rbd CLIs print, turned into the SiteObjects the shared planner compares with the
 * spec (drivers/objects/desired.ts): `ceph.pool` {size, pgAutoscale, application} and
 * `ceph.rbd-image` "pool/image" {pool, image, sizeMiB}. An unchanged site must normalise to exactly
 * the desired fields, or every pass would plan work. Pure.
 *
 * Ownership: Outpost marks what it creates and treats everything unmarked as someone else's.
 * - a pool: the key `outpost-owned` = "true" in the metadata of one of its applications
 *   (`ceph osd pool application set <pool> <app> outpost-owned true`), which lives in the OSD map
 *   and so comes back with `ceph osd pool ls detail` at no extra cost;
 * - an RBD image: the image metadata key `outpost-owned` = "true" (`rbd image-meta set`).
 */
import { OUTPOST_OWNER, type SiteObject } from "../objects/desired.ts";
import type { CephHealth } from "./health.ts";

export const OWNED_KEY = "outpost-owned";
/** The owner recorded for unmarked pools and images: anything but "outpost" is never touched. */
export const FOREIGN_OWNER = "foreign";
const MiB = 1024 * 1024;

/** One entry of `ceph osd pool ls detail --format json` (the fields we use). */
export interface PoolDetail {
  pool_name: string;
  size: number;
  pg_autoscale_mode?: string;
  application_metadata?: Record<string, Record<string, string>>;
}

/** One entry of `rbd ls -l <pool> --format json`; snapshots come as extra entries with `snapshot`. */
export interface RbdListEntry { image: string; size: number; snapshot?: string }

export interface CephObserved {
  objects: SiteObject[];
  health: CephHealth;
}

export function poolOwned(p: Pick<PoolDetail, "application_metadata">): boolean {
  return Object.values(p.application_metadata ?? {}).some((meta) => meta?.[OWNED_KEY] === "true");
}

/**
 * The spec names one application per pool. A pool with exactly one reads as that name; one with
 * none or several reads as something no spec can say ("" or "a,b"), so an Outpost-owned pool in
 * that state plans an update that leaves it with exactly the desired application.
 */
export function poolApplication(p: Pick<PoolDetail, "application_metadata">): string {
  return Object.keys(p.application_metadata ?? {}).sort().join(",");
}

export function poolObject(p: PoolDetail): SiteObject {
  return {
    kind: "ceph.pool",
    name: p.pool_name,
    fields: { size: p.size, pgAutoscale: p.pg_autoscale_mode ?? "off", application: poolApplication(p) },
    owner: poolOwned(p) ? OUTPOST_OWNER : FOREIGN_OWNER,
  };
}

/** Images of one pool (snapshot entries dropped). Sizes are exact: 16.5 MiB stays 16.5, not 16 or 17. */
export function imageObjects(pool: string, entries: readonly RbdListEntry[], owned: (image: string) => boolean): SiteObject[] {
  return entries
    .filter((e) => e.snapshot === undefined)
    .map((e) => ({
      kind: "ceph.rbd-image",
      name: `${pool}/${e.image}`,
      fields: { pool, image: e.image, sizeMiB: e.size / MiB },
      owner: owned(e.image) ? OUTPOST_OWNER : FOREIGN_OWNER,
    }));
}

/** `rbd image-meta list --format json` -> owned? (`{}` for an image without metadata). */
export function imageMetaOwned(meta: unknown): boolean {
  return (meta as Record<string, unknown> | undefined)?.[OWNED_KEY] === "true";
}
