import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { Spec } from "@outpost/shared";
import { DRIVER_ORDER, type Step } from "../types.ts";
import { desiredObjects, type SimObject } from "./desired.ts";
import { planObjects } from "./plan.ts";
import { specArb, worldArb } from "./arbitraries.test-support.ts";

/** What applying a step does to the simulated world, as the sim driver's SQL does it. */
function applyToWorld(world: SimObject[], step: Step): SimObject[] {
  const i = world.findIndex((o) => o.kind === step.kind && o.name === step.name);
  const owned = i < 0 || (world[i]!.owner ?? "outpost") === "outpost";
  if (!owned) return world;
  const rest = world.filter((_, j) => j !== i);
  if (step.action === "delete") return rest;
  return [...rest, { kind: step.kind, name: step.name, fields: JSON.parse(JSON.stringify(step.after)) as Record<string, unknown>, owner: "outpost" }];
}

const planAll = (spec: Spec, world: SimObject[]) => DRIVER_ORDER.flatMap((d) => planObjects(d, desiredObjects(spec, d), { objects: world }));

describe("sim planner", () => {
  it("plan, apply, plan again: the second plan is empty (any spec, any starting world)", () => {
    fc.assert(fc.property(specArb, worldArb, (spec, world) => {
      let w = world;
      for (const s of planAll(spec, w)) w = applyToWorld(w, s);
      const again = planAll(spec, w);
      if (again.length) throw new Error(`not converged: ${again.map((s) => s.id).join(", ")}`);
    }), { numRuns: 300 });
  });

  it("never plans a step against an object someone else owns", () => {
    fc.assert(fc.property(specArb, worldArb, (spec, world) => {
      const foreign = new Set(world.filter((o) => o.owner !== "outpost").map((o) => `${o.kind} ${o.name}`));
      return planAll(spec, world).every((s) => !foreign.has(`${s.kind} ${s.name}`));
    }), { numRuns: 300 });
  });

  it("an empty world gets only creates; a converged world gets nothing", () => {
    fc.assert(fc.property(specArb, (spec) => {
      const steps = planAll(spec, []);
      if (!steps.every((s) => s.action === "create")) return false;
      const world = steps.map((s) => ({ kind: s.kind, name: s.name, fields: s.after as Record<string, unknown>, owner: "outpost" }));
      return planAll(spec, world).length === 0;
    }));
  });

  it("a stopped instance is started, not rebuilt; a changed one is updated with before and after", () => {
    const spec = Spec.parse({ lxd: { instances: [{ name: "web1", image: { alias: "debian-12" }, state: "running" }] } });
    const [create] = planAll(spec, []);
    const fields = create!.after as Record<string, unknown>;
    const stopped = [{ kind: "lxd.instance", name: "web1", fields: { ...fields, state: "stopped" }, owner: "outpost" }];
    expect(planAll(spec, stopped).map((s) => s.id)).toEqual(["lxd/lxd.instance/web1/start"]);
    const changed = [{ kind: "lxd.instance", name: "web1", fields: { ...fields, state: "stopped", profiles: [] }, owner: "outpost" }];
    const [upd] = planAll(spec, changed);
    expect(upd).toMatchObject({ action: "update", before: changed[0]!.fields, after: fields });
  });

  it("deletes what Outpost owns and the spec dropped, keeps what others own", () => {
    const world = [
      { kind: "ceph.pool", name: "old", fields: {}, owner: "outpost" },
      { kind: "ceph.pool", name: "theirs", fields: {}, owner: "operator" },
    ];
    expect(planAll(Spec.parse({}), world).map((s) => s.id)).toEqual(["ceph/ceph.pool/old/delete"]);
  });

  it("marks disruptive host changes", () => {
    const spec = Spec.parse({ host: { packages: [{ name: "linux-image-amd64", version: "6.1", disruptive: true }, { name: "jq", version: "1.6" }] } });
    const steps = planAll(spec, []);
    expect(steps.find((s) => s.name === "linux-image-amd64")?.disruptive).toBe(true);
    expect(steps.find((s) => s.name === "jq")?.disruptive).toBeUndefined();
  });
});
