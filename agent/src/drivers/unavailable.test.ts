import { describe, expect, it } from "vitest";
import { Spec } from "@outpost/shared";
import { unavailableDriver } from "./unavailable.ts";

describe("a driver the site does not run", () => {
  const driver = unavailableDriver("ceph", "this site's agent does not manage ceph");
  const spec = Spec.parse({ ceph: { pools: [{ name: "rbd", size: 1 }] } });

  it("plans the bundle's objects so the site does not report itself in sync", async () => {
    const steps = driver.plan(spec, await driver.observe());
    expect(steps.map((s) => s.id)).toEqual(["ceph/ceph.pool/rbd/create"]);
  });

  it("fails every step saying why, and plans nothing for a bundle without such objects", async () => {
    const [step] = driver.plan(spec, await driver.observe());
    await expect(driver.apply(step!)).rejects.toThrow(/ceph.pool rbd: this site's agent does not manage ceph/);
    expect(driver.plan(Spec.parse({}), await driver.observe())).toEqual([]);
  });
});
