import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { Spec, type SpecInput } from "@outpost/shared";
import type { Step } from "../types.ts";
import { imageMetaOwned, imageObjects, poolObject, type CephObserved, type PoolDetail } from "./normalize.ts";
import { isHousekeepingObject, planCeph, poolDeletionRefusal, stepRefusal } from "./plan.ts";

const MiB = 1024 * 1024;
const OK = { status: "HEALTH_OK" as const, checks: [] };

/**
 * A model of the cluster as the CLIs print it, and of what the driver's commands do to it. The
 * property tests run the real normaliser and planner against it: whatever Outpost creates must
 * read back as exactly what the spec says, or every pass would plan work again.
 */
interface ModelImage { size: number; owned: boolean }
interface ModelPool { detail: PoolDetail; images: Map<string, ModelImage>; trash: number }
type Model = Map<string, ModelPool>;

function observe(m: Model): CephObserved {
  const objects = [...m.values()].flatMap((p) => [
    poolObject(p.detail),
    ...imageObjects(p.detail.pool_name, [...p.images].map(([image, i]) => ({ image, size: i.size })), (n) => p.images.get(n)!.owned),
  ]);
  return { objects, health: OK };
}

/** What the driver's apply does (refusals included); returns the refusal message, if any. */
function applyModel(m: Model, s: Step): string | undefined {
  const refused = stepRefusal(s);
  if (refused) return refused;
  const after = s.after as { size: number; pgAutoscale: string; application: string; sizeMiB: number };
  if (s.kind === "ceph.pool") {
    if (s.action === "create") {
      m.set(s.name, { detail: { pool_name: s.name, size: after.size, pg_autoscale_mode: after.pgAutoscale, application_metadata: { [after.application]: { "outpost-owned": "true" } } }, images: new Map(), trash: 0 });
    } else if (s.action === "update") {
      const p = m.get(s.name)!;
      p.detail = { ...p.detail, size: after.size, pg_autoscale_mode: after.pgAutoscale, application_metadata: { [after.application]: { "outpost-owned": "true" } } };
    } else {
      const p = m.get(s.name)!;
      const why = poolDeletionRefusal(s.name, { images: p.images.size, trashed: p.trash, dataObject: p.images.size + p.trash ? "rbd_header.1" : undefined });
      if (why) return why;
      m.delete(s.name);
    }
  } else {
    const [pool, image] = s.name.split("/") as [string, string];
    const p = m.get(pool);
    if (!p) return `no pool ${pool}`;
    if (s.action === "delete") { p.images.delete(image); p.trash++; return undefined; }
    p.images.set(image, { size: after.sizeMiB * MiB, owned: true });
  }
  return undefined;
}

const name = fc.constantFrom("a", "b", "rbd", "vms");
const specArb = fc.record({
  pools: fc.uniqueArray(fc.record({ name, size: fc.integer({ min: 1, max: 3 }), pgAutoscale: fc.constantFrom("on", "off", "warn" as const), application: fc.constantFrom("rbd", "rgw" as const) }), { selector: (p) => p.name, maxLength: 3 }),
  rbdImages: fc.uniqueArray(fc.record({ pool: name, name: fc.constantFrom("disk0", "disk1"), sizeMiB: fc.integer({ min: 1, max: 1 << 20 }) }), { selector: (i) => `${i.pool}/${i.name}`, maxLength: 4 }),
}).map((ceph) => Spec.parse({ ceph } satisfies SpecInput));

/** A cluster someone has been at: pools and images of Outpost's and of others, in any state. */
const modelArb: fc.Arbitrary<Model> = fc.uniqueArray(fc.record({
  name, size: fc.integer({ min: 1, max: 3 }), mode: fc.constantFrom("on", "off", "warn"),
  apps: fc.subarray(["rbd", "rgw", "cephfs"]), owned: fc.boolean(),
  images: fc.uniqueArray(fc.record({ image: fc.constantFrom("disk0", "disk1", "other"), mib: fc.integer({ min: 1, max: 1 << 20 }), owned: fc.boolean() }), { selector: (i) => i.image, maxLength: 3 }),
}), { selector: (p) => p.name, maxLength: 4 }).map((pools) => new Map(pools.map((p) => {
  const meta: Record<string, Record<string, string>> = Object.fromEntries(p.apps.map((a) => [a, {}]));
  if (p.owned && p.apps.length) meta[p.apps[0]!] = { "outpost-owned": "true" };
  return [p.name, {
    detail: { pool_name: p.name, size: p.size, pg_autoscale_mode: p.mode, application_metadata: meta },
    images: new Map(p.images.map((i) => [i.image, { size: i.mib * MiB, owned: i.owned }])),
    trash: 0,
  }];
})));

const clone = (m: Model): Model => new Map([...m].map(([k, p]) => [k, { detail: structuredClone(p.detail), images: new Map([...p.images].map(([n, i]) => [n, { ...i }])), trash: p.trash }]));

describe("ceph normalisation and plan", () => {
  it("a pool as `ceph osd pool ls detail` prints it after Outpost created it plans nothing", () => {
    // Trimmed from the test cluster's real output for a pool created by the driver.
    const detail: PoolDetail = { pool_name: "vms", size: 1, pg_autoscale_mode: "on", application_metadata: { rbd: { "outpost-owned": "true" } } };
    const spec = Spec.parse({ ceph: { pools: [{ name: "vms", size: 1 }], rbdImages: [{ pool: "vms", name: "disk0", sizeMiB: 16 }] } });
    const observed = { objects: [poolObject(detail), ...imageObjects("vms", [{ image: "disk0", size: 16 * MiB }], () => true)], health: OK };
    expect(planCeph(spec, observed)).toEqual([]);
  });

  it("pools without Outpost's mark, and images without its metadata, are foreign and never touched", () => {
    const foreign: PoolDetail = { pool_name: "vms", size: 3, pg_autoscale_mode: "off", application_metadata: { rbd: {} } };
    const spec = Spec.parse({ ceph: { pools: [{ name: "vms", size: 1 }], rbdImages: [{ pool: "vms", name: "disk0", sizeMiB: 64 }] } });
    const observed = { objects: [poolObject(foreign), ...imageObjects("vms", [{ image: "disk0", size: 16 * MiB }, { image: "theirs", size: MiB }], () => false)], health: OK };
    expect(planCeph(spec, observed)).toEqual([]);
    expect(planCeph(Spec.parse({}), observed)).toEqual([]);
  });

  it("RBD snapshots listed by `rbd ls -l` are not images", () => {
    const objs = imageObjects("vms", [{ image: "disk0", size: MiB }, { image: "disk0", snapshot: "s1", size: MiB }], () => true);
    expect(objs.map((o) => o.name)).toEqual(["vms/disk0"]);
  });

  it("a pool with several applications plans an update to the one the spec names", () => {
    const detail: PoolDetail = { pool_name: "vms", size: 1, pg_autoscale_mode: "on", application_metadata: { rbd: { "outpost-owned": "true" }, rgw: {} } };
    const observed: CephObserved = { objects: [poolObject(detail)], health: OK };
    const [s] = planCeph(Spec.parse({ ceph: { pools: [{ name: "vms", size: 1 }] } }), observed);
    expect(s).toMatchObject({ action: "update", before: { application: "rbd,rgw" }, after: { application: "rbd" } });
  });

  it("image metadata: owned only with outpost-owned=true", () => {
    expect(imageMetaOwned({ "outpost-owned": "true" })).toBe(true);
    expect(imageMetaOwned({ "outpost-owned": "false" })).toBe(false);
    expect(imageMetaOwned({})).toBe(false);
    expect(imageMetaOwned(null)).toBe(false);
  });

  it("a shrink is planned (so the site shows it) but refused with the reason; growing is not", () => {
    const detail: PoolDetail = { pool_name: "vms", size: 1, pg_autoscale_mode: "on", application_metadata: { rbd: { "outpost-owned": "true" } } };
    const observed = { objects: [poolObject(detail), ...imageObjects("vms", [{ image: "disk0", size: 64 * MiB }], () => true)], health: OK };
    const shrink = planCeph(Spec.parse({ ceph: { pools: [{ name: "vms", size: 1 }], rbdImages: [{ pool: "vms", name: "disk0", sizeMiB: 32 }] } }), observed);
    expect(shrink.map((s) => s.id)).toEqual(["ceph/ceph.rbd-image/vms/disk0/update"]);
    expect(stepRefusal(shrink[0]!)).toMatch(/^refusing to shrink RBD image vms\/disk0 from 64 MiB to 32 MiB/);
    const grow = planCeph(Spec.parse({ ceph: { pools: [{ name: "vms", size: 1 }], rbdImages: [{ pool: "vms", name: "disk0", sizeMiB: 128 }] } }), observed);
    expect(stepRefusal(grow[0]!)).toBeUndefined();
  });

  it("property: refusal exactly when an image update makes it smaller", () => {
    fc.assert(fc.property(fc.double({ min: 0.5, max: 1e7, noNaN: true }), fc.integer({ min: 1, max: 1e7 }), (before, after) => {
      const step = { kind: "ceph.rbd-image", name: "p/i", action: "update" as const, before: { pool: "p", image: "i", sizeMiB: before }, after: { pool: "p", image: "i", sizeMiB: after } };
      expect(stepRefusal(step) !== undefined).toBe(after < before);
      expect(stepRefusal({ ...step, kind: "ceph.pool" })).toBeUndefined();
    }));
  });

  it("pool deletion: only an empty pool; the refusal says what is in it and how to empty it", () => {
    expect(poolDeletionRefusal("vms", { images: 0, trashed: 0 })).toBeUndefined();
    expect(poolDeletionRefusal("vms", { images: 2, trashed: 0, dataObject: "rbd_header.1" })).toMatch(/^refusing to delete pool vms: it still holds 2 RBD image\(s\)/);
    expect(poolDeletionRefusal("vms", { images: 0, trashed: 1, dataObject: "rbd_header.1" })).toContain("rbd trash purge vms");
    expect(poolDeletionRefusal("vms", { images: 0, trashed: 0, dataObject: "gw/obj" })).toContain("objects (e.g. gw/obj)");
    for (const o of ["rbd_info", "rbd_directory", "rbd_trash"]) expect(isHousekeepingObject(o)).toBe(true);
    for (const o of ["rbd_data.1.0", "rbd_header.1", "rbd_id.disk0", "anything"]) expect(isHousekeepingObject(o)).toBe(false);
  });

  it("property: from any cluster, one pass converges all but refused steps, and foreign objects stay as they were", () => {
    fc.assert(fc.property(specArb, modelArb, (spec, start) => {
      const m = clone(start);
      const refused = new Set<string>();
      for (const s of planCeph(spec, observe(m))) if (applyModel(m, s)) refused.add(s.id);
      const again = planCeph(spec, observe(m));
      expect(again.map((s) => s.id).filter((id) => !refused.has(id))).toEqual([]);
      // Foreign pools and images: byte for byte what they were.
      const foreign = (x: Model) => observe(x).objects.filter((o) => o.owner !== "outpost");
      expect(foreign(m)).toEqual(foreign(start));
      // Nothing Outpost owns ever shrank.
      for (const [pool, p] of start) for (const [img, i] of p.images) {
        const now = m.get(pool)?.images.get(img);
        if (i.owned && now) expect(now.size).toBeGreaterThanOrEqual(i.size);
      }
    }), { numRuns: 400 });
  });
});
