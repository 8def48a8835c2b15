import { describe, expect, it } from "vitest";
import { makeStep } from "../drivers/types.ts";
import { blockedBy, dependsOn } from "./blocking.ts";
import { Quarantine } from "./quarantine.ts";

describe("dependsOn", () => {
  const pool = makeStep({ driver: "ceph", kind: "ceph.pool", name: "rbd", action: "create", after: { size: 3 } });
  const image = makeStep({ driver: "ceph", kind: "ceph.rbd-image", name: "rbd/disk1", action: "create", after: { pool: "rbd", image: "disk1", sizeMiB: 10 } });
  const profile = makeStep({ driver: "lxd", kind: "lxd.profile", name: "web", action: "create", after: { config: {} } });
  const inst = makeStep({ driver: "lxd", kind: "lxd.instance", name: "web1", action: "create", after: { profiles: ["default", "web"] } });
  const other = makeStep({ driver: "lxd", kind: "lxd.instance", name: "db1", action: "create", after: { profiles: ["default"] } });

  it("holds back steps that name a failed object", () => {
    expect(dependsOn(image, pool)).toBe(true);
    expect(dependsOn(inst, profile)).toBe(true);
    expect(blockedBy(inst, [pool, profile])).toBe(profile);
  });

  it("lets independent steps go on", () => {
    expect(dependsOn(other, profile)).toBe(false);
    expect(blockedBy(other, [pool, profile])).toBeUndefined();
  });

  it("a deletion waits for the failed deletion of what refers to it", () => {
    const delInst = makeStep({ driver: "lxd", kind: "lxd.instance", name: "web1", action: "delete", before: { profiles: ["web"] } });
    const delProfile = makeStep({ driver: "lxd", kind: "lxd.profile", name: "web", action: "delete", before: {} });
    expect(dependsOn(delProfile, delInst)).toBe(true);
  });
});

describe("Quarantine", () => {
  it("holds a step with growing, never-near-zero backoff, and releases on success", () => {
    const q = new Quarantine({ baseMs: 1000, capMs: 8000 }, () => 0);
    const e1 = q.hold("s", "boom", 0);
    expect(e1.until).toBe(500);
    expect(q.isHeld("s", 499)).toBeTruthy();
    expect(q.isHeld("s", 500)).toBeUndefined();
    expect(q.hold("s", "boom", 1000).until).toBe(2000);
    expect(q.hold("s", "boom", 0).until).toBe(2000);
    expect(q.hold("s", "boom", 0).until).toBe(4000);
    expect(q.hold("s", "boom", 0).until).toBe(4000); // capped at 8000 / 2 with r = 0
    expect(q.nextRelease(0)).toBe(4000);
    q.release("s");
    expect(q.size).toBe(0);
    expect(q.nextRelease(0)).toBeNull();
  });

  it("forgets steps that left the plan", () => {
    const q = new Quarantine({ baseMs: 1000, capMs: 8000 });
    q.hold("a", "x", 0); q.hold("b", "x", 0);
    q.retain(new Set(["b"]));
    expect(q.isHeld("a", 0)).toBeUndefined();
    expect(q.isHeld("b", 0)).toBeTruthy();
  });
});
