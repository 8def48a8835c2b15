/**
 * The LXD plan: the shared object planner (objects/plan.ts) fed with observed objects aligned to
 * what the spec can express, then with image/type changes marked disruptive. Pure: no I/O.
 *
 * Alignment (each rule stops a difference that is not drift from planning a step forever):
 * - Reserved keys (`volatile.*`, `user.outpost.*`, instance `image.*`) are dropped from the
 *   desired objects too: the spec cannot set them, LXD (or the ownership mark) owns them.
 * - Keys LXD fills in itself when the spec leaves them out (a dir pool's `source`, a bridge's
 *   generated `ipv4.address`) are compared only when the spec sets them. apply keeps LXD's value.
 * - An instance's image is observed as a fingerprint; the spec names a fingerprint (prefix), an
 *   alias or a bundle artifact. When the reference resolves to the instance's image, or cannot be
 *   resolved here (alias not in LXD, artifact not in the bundle: then no replacement could be built
 *   anyway), the observed image is taken to be the spec's reference.
 * - The `default` profile and pool that `lxd init` made are adopted while the spec lists them
 *   (updated to match), and otherwise left as they are; they are never deleted.
 *
 * An instance whose image or type differs is rebuilt by its update step (delete and create again:
 * LXD 5.0 has no in-place rebuild), which loses its root disk: the step is marked disruptive, so it
 * waits for the bundle's maintenance windows like a kernel upgrade.
 */
import type { Spec } from "@outpost/shared";
import { sameJson } from "../../lib/canonical-json.ts";
import { desiredObjects, type DesiredObject, type SiteObject } from "../objects/desired.ts";
import { planObjects } from "../objects/plan.ts";
import type { Step } from "../types.ts";
import { LXD_INIT, OUTPOST, withoutReserved, type ArtifactRef, type ImageInfo, type LxdObserved, type StringMap } from "./normalize.ts";

/** Config keys LXD fills in at creation when not given (storage pools, per driver). */
export const POOL_COMPUTED_KEYS: readonly string[] = [
  "source", "size", "zfs.pool_name", "lvm.vg_name", "lvm.thinpool_name",
  "ceph.cluster_name", "ceph.osd.pool_name", "ceph.osd.pg_num", "ceph.user.name",
  "cephfs.cluster_name", "cephfs.path", "cephfs.user.name",
];
/** Config keys LXD generates for a bridge/OVN network when not given (`auto` addresses, NAT). */
export const NETWORK_COMPUTED_KEYS: readonly string[] = ["ipv4.address", "ipv4.nat", "ipv6.address", "ipv6.nat"];

export function computedKeys(kind: string): readonly string[] {
  return kind === "lxd.storage-pool" ? POOL_COMPUTED_KEYS : kind === "lxd.network" ? NETWORK_COMPUTED_KEYS : [];
}

export type ImageRef = { fingerprint: string } | { alias: string } | { artifact: string };
export interface ImageContext { images: readonly ImageInfo[]; artifacts: readonly ArtifactRef[] }

/** The fingerprint an image reference names here, or undefined when it cannot be known locally. */
export function resolveImageRef(ref: ImageRef, ctx: ImageContext): string | undefined {
  if ("fingerprint" in ref) return ctx.images.find((i) => i.fingerprint.startsWith(ref.fingerprint))?.fingerprint ?? (ref.fingerprint.length === 64 ? ref.fingerprint : undefined);
  if ("alias" in ref) return ctx.images.find((i) => i.aliases.includes(ref.alias))?.fingerprint;
  // A unified image tarball's LXD fingerprint is its sha256.
  return ctx.artifacts.find((a) => a.name === ref.artifact)?.sha256;
}

/** Whether an instance made from `base` satisfies `ref` (true when either side is unknown: never rebuild on a guess). */
export function imageMatches(ref: ImageRef, base: string | null | undefined, ctx: ImageContext): boolean {
  if (!base) return true;
  if ("fingerprint" in ref) return base.startsWith(ref.fingerprint);
  const want = resolveImageRef(ref, ctx);
  return want === undefined || want === base;
}

const configOf = (fields: Record<string, unknown>) => (fields.config ?? {}) as StringMap;

/** The desired object with reserved keys dropped (the spec cannot set them). */
export function sanitizeDesired(d: DesiredObject): DesiredObject {
  if (!("config" in d.fields)) return d;
  return { ...d, fields: { ...d.fields, config: withoutReserved(d.kind, configOf(d.fields)) } };
}

/** The observed object as the planner should compare it with `d` (see the rules at the top). */
export function alignObserved(o: SiteObject, d: DesiredObject | undefined, ctx: ImageContext): SiteObject {
  if (!d) return o;
  let fields = o.fields;
  const computed = computedKeys(o.kind);
  if (computed.length) {
    const want = configOf(d.fields);
    const config = Object.fromEntries(Object.entries(configOf(fields)).filter(([k]) => !computed.includes(k) || k in want));
    fields = { ...fields, config };
  }
  if (o.kind === "lxd.instance" && imageMatches(d.fields.image as ImageRef, (fields.image as { fingerprint?: string } | null)?.fingerprint, ctx)) {
    fields = { ...fields, image: d.fields.image };
  }
  return { ...o, fields, owner: o.owner === LXD_INIT ? OUTPOST : o.owner };
}

/** Does this instance update replace the instance (new image or type) rather than reconfigure it? */
export function isRebuild(step: Pick<Step, "kind" | "action" | "before" | "after">): boolean {
  if (step.kind !== "lxd.instance" || step.action !== "update") return false;
  const b = step.before as Record<string, unknown>;
  const a = step.after as Record<string, unknown>;
  return b.type !== a.type || !sameJson(b.image, a.image);
}

export function planLxd(spec: Spec, observed: LxdObserved): Step[] {
  const desired = desiredObjects(spec, "lxd").map(sanitizeDesired);
  const byKey = new Map(desired.map((d) => [`${d.kind}\u0000${d.name}`, d]));
  const objects = observed.objects.map((o) => alignObserved(o, byKey.get(`${o.kind}\u0000${o.name}`), observed));
  return planObjects("lxd", desired, { objects }).map((s) => (isRebuild(s) ? { ...s, disruptive: true } : s));
}
