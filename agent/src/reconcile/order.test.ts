import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { KIND_ORDER } from "../drivers/kinds.ts";
import { DRIVER_ORDER, makeStep, type DriverName, type Step, type StepAction } from "../drivers/types.ts";
import { orderSteps, stepRank } from "./order.ts";

const stepArb: fc.Arbitrary<Step> = fc.constantFrom(...DRIVER_ORDER).chain((driver: DriverName) =>
  fc.record({
    kind: fc.constantFrom(...KIND_ORDER[driver], `${driver}.unknown-kind`),
    name: fc.constantFrom("a", "b", "web1", "db", "default", "p/x"),
    action: fc.constantFrom<StepAction>("create", "update", "delete", "start", "stop"),
  }).map((s) => makeStep({ driver, ...s })));

describe("orderSteps", () => {
  it("is a permutation of its input", () => {
    fc.assert(fc.property(fc.array(stepArb, { maxLength: 60 }), (steps) => {
      const out = orderSteps(steps);
      const key = (xs: Step[]) => xs.map((s) => s.id).sort().join("|");
      return out.length === steps.length && key(out) === key(steps) && new Set(out).size === new Set(steps).size;
    }));
  });

  it("builds forward (ceph -> ovn -> lxd -> host, kinds in dependency order), tears down in reverse, deletes last", () => {
    fc.assert(fc.property(fc.array(stepArb, { maxLength: 60 }), (steps) => {
      const out = orderSteps(steps);
      const firstDelete = out.findIndex((s) => s.action === "delete");
      if (firstDelete >= 0 && !out.slice(firstDelete).every((s) => s.action === "delete")) return false;
      for (let i = 0; i + 1 < out.length; i++) {
        const a = out[i]!, b = out[i + 1]!;
        if (a.action !== "delete" && b.action !== "delete" && stepRank(a) > stepRank(b)) return false;
        if (a.action === "delete" && b.action === "delete" && stepRank(a) < stepRank(b)) return false;
      }
      return true;
    }));
  });

  it("is stable: equal-rank steps keep their input order", () => {
    fc.assert(fc.property(fc.array(stepArb, { maxLength: 40 }), (steps) => {
      const out = orderSteps(steps);
      const pos = new Map(steps.map((s, i) => [s, i]));
      for (let i = 0; i + 1 < out.length; i++) {
        const a = out[i]!, b = out[i + 1]!;
        if (stepRank(a) === stepRank(b) && (a.action === "delete") === (b.action === "delete") && pos.get(a)! > pos.get(b)!) return false;
      }
      return true;
    }));
  });

  it("orders a concrete LXD change sensibly: new profile, then instance moved to it, then old profile deleted", () => {
    const steps = [
      makeStep({ driver: "lxd", kind: "lxd.profile", name: "old", action: "delete" }),
      makeStep({ driver: "lxd", kind: "lxd.instance", name: "web", action: "update" }),
      makeStep({ driver: "host", kind: "host.package", name: "lxd", action: "update" }),
      makeStep({ driver: "lxd", kind: "lxd.profile", name: "new", action: "create" }),
      makeStep({ driver: "ceph", kind: "ceph.pool", name: "rbd", action: "create" }),
      makeStep({ driver: "lxd", kind: "lxd.storage-pool", name: "p", action: "create" }),
      makeStep({ driver: "ceph", kind: "ceph.pool", name: "gone", action: "delete" }),
      makeStep({ driver: "ovn", kind: "ovn.switch", name: "ls", action: "create" }),
    ];
    expect(orderSteps(steps).map((s) => `${s.action} ${s.kind} ${s.name}`)).toEqual([
      "create ceph.pool rbd", "create ovn.switch ls", "create lxd.storage-pool p", "create lxd.profile new",
      "update lxd.instance web", "update host.package lxd", "delete lxd.profile old", "delete ceph.pool gone",
    ]);
  });
});
