import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { Spec, type SpecInput } from "@outpost/shared";
import { orderSteps } from "../../reconcile/order.ts";
import type { Step } from "../types.ts";
import { ARTIFACTS, FP_ALIAS, FP_OTHER, lxdSpecArb, lxdWorldArb } from "./arbitraries.test-support.ts";
import { lxdMetrics } from "./metrics.ts";
import { applyModel, clone, observeModel } from "./model.test-support.ts";
import type { LxdRaw, RawInstance } from "./normalize.ts";
import { planLxd } from "./plan.ts";

const spec = (lxd: SpecInput["lxd"]) => Spec.parse({ lxd });
const plan = (s: Spec, world: LxdRaw, artifacts = ARTIFACTS) => planLxd(s, observeModel(world, artifacts));
const ids = (steps: Step[]) => steps.map((s) => s.id).sort();

/** A freshly initialised LXD (`lxd init --preseed`): the default pool and profile, nothing else. */
const fresh = (): LxdRaw => ({
  pools: [{ name: "default", driver: "dir", description: "", config: { source: "/var/lib/lxd/storage-pools/default" } }],
  networks: [{ name: "eth0", type: "physical", managed: false, description: "", config: {} }],
  profiles: [{ name: "default", description: "Default LXD profile", config: {}, devices: { root: { type: "disk", path: "/", pool: "default" } } }],
  instances: [],
  images: [{ fingerprint: FP_ALIAS, aliases: [{ name: "base" }] }, { fingerprint: FP_OTHER, aliases: [] }],
});

/** observe -> plan -> apply (in the reconciler's order) on the model, as many passes as asked; the steps of each pass. */
function converge(s: Spec, world: LxdRaw, passes = 1): Step[][] {
  const out: Step[][] = [];
  for (let i = 0; i < passes; i++) {
    const steps = orderSteps(plan(s, world));
    for (const step of steps) applyModel(world, ARTIFACTS, step);
    out.push(steps);
  }
  return out;
}

const site = spec({
  storagePools: [{ name: "fast", driver: "dir" }],
  networks: [{ name: "br0", config: { "ipv4.address": "10.1.0.1/24", "ipv4.nat": "false", "ipv6.address": "none" } }],
  profiles: [{ name: "web", config: { "limits.memory": "128MB" }, devices: { root: { type: "disk", path: "/", pool: "fast" }, eth0: { type: "nic", network: "br0", name: "eth0" } } }],
  instances: [
    { name: "web1", image: { artifact: "img-a" }, profiles: ["web"] },
    { name: "web2", image: { artifact: "img-a" }, profiles: ["web"], state: "stopped" },
  ],
});

describe("LXD plan (pure)", () => {
  it("a fresh LXD gets every object created, in dependency order; the next pass plans nothing", () => {
    const world = fresh();
    const [first, second] = converge(site, world, 2);
    expect(first!.map((s) => s.id)).toEqual([
      "lxd/lxd.storage-pool/fast/create", "lxd/lxd.network/br0/create", "lxd/lxd.profile/web/create",
      "lxd/lxd.instance/web1/create", "lxd/lxd.instance/web2/create",
    ]);
    expect(second).toEqual([]);
    // LXD filled in the pool's source and stamped volatile/image keys: none of it reads as drift.
    expect(world.pools.find((p) => p.name === "fast")!.config).toMatchObject({ source: "/var/lib/lxd/storage-pools/fast", "user.outpost.owned": "true" });
  });

  it("drift: a stopped instance is started, a deleted one created, a hand-edited profile updated, nothing rebuilt", () => {
    const world = fresh();
    converge(site, world);
    world.instances.find((i) => i.name === "web1")!.status = "Stopped";
    world.instances = world.instances.filter((i) => i.name !== "web2");
    world.profiles.find((p) => p.name === "web")!.config!["limits.memory"] = "1GB";
    const steps = plan(site, world);
    expect(ids(steps)).toEqual(["lxd/lxd.instance/web1/start", "lxd/lxd.instance/web2/create", "lxd/lxd.profile/web/update"]);
    expect(steps.some((s) => s.disruptive)).toBe(false);
  });

  it("a frozen instance that should run is started (apply unfreezes it)", () => {
    const world = fresh();
    converge(site, world);
    world.instances.find((i) => i.name === "web1")!.status = "Frozen";
    expect(ids(plan(site, world))).toEqual(["lxd/lxd.instance/web1/start"]);
  });

  it("a config change is an in-place update; a new image artifact is a disruptive rebuild", () => {
    const world = fresh();
    converge(site, world);
    const changed = clone(site);
    changed.lxd.instances[0]!.config = { "limits.cpu": "1" };
    const [upd] = plan(changed, world);
    expect(upd).toMatchObject({ id: "lxd/lxd.instance/web1/update", before: { config: {} }, after: { config: { "limits.cpu": "1" } } });
    expect(upd!.disruptive).toBeUndefined();

    const newImage = clone(site);
    newImage.lxd.instances[1]!.image = { artifact: "img-b" };
    const [rebuild] = plan(newImage, world);
    expect(rebuild).toMatchObject({ id: "lxd/lxd.instance/web2/update", disruptive: true, before: { image: { fingerprint: ARTIFACTS[0]!.sha256 } }, after: { image: { artifact: "img-b" } } });
    converge(newImage, world);
    expect(world.instances.find((i) => i.name === "web2")!.config!["volatile.base_image"]).toBe(ARTIFACTS[1]!.sha256);
    expect(plan(newImage, world)).toEqual([]);
  });

  it("the same artifact name with a new sha256 in the next bundle rebuilds; alias and fingerprint references resolve locally", () => {
    const world = fresh();
    converge(site, world);
    const nextBundle = [{ ...ARTIFACTS[0]!, sha256: "e".repeat(64) }, ARTIFACTS[1]!];
    expect(ids(plan(site, world, nextBundle))).toEqual(["lxd/lxd.instance/web1/update", "lxd/lxd.instance/web2/update"]);

    const byAlias = spec({ instances: [{ name: "x", image: { alias: "base" } }] });
    const w2 = fresh();
    converge(byAlias, w2);
    expect(w2.instances[0]!.config!["volatile.base_image"]).toBe(FP_ALIAS);
    expect(plan(byAlias, w2)).toEqual([]);
    // Same image named by a fingerprint prefix: nothing to do.
    expect(plan(spec({ instances: [{ name: "x", image: { fingerprint: FP_ALIAS.slice(0, 12) } }] }), w2)).toEqual([]);
    // Another image's fingerprint: rebuild.
    expect(plan(spec({ instances: [{ name: "x", image: { fingerprint: FP_OTHER.slice(0, 12) } }] }), w2)[0]).toMatchObject({ action: "update", disruptive: true });
  });

  it("an image reference that cannot be resolved here never rebuilds an existing instance (there is nothing to rebuild it from)", () => {
    const world = fresh();
    converge(spec({ instances: [{ name: "x", image: { alias: "base" } }] }), world);
    expect(plan(spec({ instances: [{ name: "x", image: { alias: "gone" } }] }), world)).toEqual([]);
    expect(plan(spec({ instances: [{ name: "x", image: { artifact: "not-in-bundle" } }] }), world)).toEqual([]);
    // A new instance still gets its create step, which fails in apply with a clear message.
    expect(ids(plan(spec({ instances: [{ name: "x", image: { alias: "gone" } }, { name: "y", image: { alias: "gone" } }] }), world))).toEqual(["lxd/lxd.instance/y/create"]);
  });

  it("keys LXD computes (dir pool source, bridge addresses) count only when the spec sets them", () => {
    const world = fresh();
    const s = spec({ storagePools: [{ name: "p", driver: "dir" }], networks: [{ name: "br", config: { "ipv6.address": "none" } }] });
    converge(s, world);
    expect(world.networks.find((n) => n.name === "br")!.config).toMatchObject({ "ipv4.address": "10.99.0.1/24", "ipv6.address": "none" });
    expect(plan(s, world)).toEqual([]);
    const pinned = spec({ storagePools: [{ name: "p", driver: "dir" }], networks: [{ name: "br", config: { "ipv4.address": "10.5.0.1/24", "ipv6.address": "none" } }] });
    const [upd] = plan(pinned, world);
    expect(upd).toMatchObject({ id: "lxd/lxd.network/br/update", before: { config: { "ipv4.address": "10.99.0.1/24" } } });
    converge(pinned, world);
    expect(plan(pinned, world)).toEqual([]);
  });

  it("keys the spec cannot set (volatile.*, the ownership mark, instance image.*) are ignored, not fought over", () => {
    const world = fresh();
    const s = spec({ profiles: [{ name: "p", config: { "volatile.x": "1", "user.outpost.owned": "false", "limits.cpu": "2" } }], instances: [{ name: "i", image: { alias: "base" }, config: { "image.os": "other", "volatile.base_image": "zzz" } }] });
    converge(s, world);
    expect(world.profiles.find((p) => p.name === "p")!.config).toEqual({ "limits.cpu": "2", "user.outpost.owned": "true" });
    expect(plan(s, world)).toEqual([]);
  });

  it("LXD's default profile and pool: configured when the spec lists them, never deleted, never marked", () => {
    const world = fresh();
    const s = spec({ profiles: [{ name: "default", description: "site default", config: { "limits.cpu": "2" }, devices: { root: { type: "disk", path: "/", pool: "default" } } }], storagePools: [{ name: "default", driver: "dir" }] });
    expect(ids(plan(s, world))).toEqual(["lxd/lxd.profile/default/update"]);
    converge(s, world);
    expect(world.profiles[0]).toMatchObject({ description: "site default", config: { "limits.cpu": "2" } });
    expect(plan(s, world)).toEqual([]);
    // Dropped from the spec: left exactly as it is.
    expect(plan(spec({}), world)).toEqual([]);
  });

  it("someone else's objects are left alone even when the spec names them; Outpost's are deleted when the spec drops them", () => {
    const world = fresh();
    converge(site, world);
    const foreign: RawInstance = { name: "web1x", type: "container", status: "Running", config: { "volatile.base_image": FP_ALIAS }, devices: {}, profiles: ["default"] };
    world.instances.push(foreign, { ...foreign, name: "pet" });
    world.profiles.push({ name: "ops", description: "", config: {}, devices: {} });
    const s = clone(site);
    s.lxd.instances = [{ ...s.lxd.instances[0]!, name: "pet", state: "stopped" }];
    s.lxd.profiles.push({ name: "ops", description: "mine now?", config: { "limits.cpu": "1" }, devices: {} });
    const steps = orderSteps(plan(s, world));
    expect(steps.map((x) => x.id)).toEqual(["lxd/lxd.instance/web1/delete", "lxd/lxd.instance/web2/delete"]);
  });

  describe("virtual machines (plan only: no /dev/kvm here)", () => {
    const vm = spec({ instances: [{ name: "vm1", type: "virtual-machine", image: { artifact: "img-a" }, config: { "limits.cpu": "2" } }] });

    it("a VM is created as a VM, and converges like a container", () => {
      const world = fresh();
      const [first, second] = converge(vm, world, 2);
      expect(first).toMatchObject([{ id: "lxd/lxd.instance/vm1/create", after: { type: "virtual-machine", image: { artifact: "img-a" }, state: "running" } }]);
      expect(second).toEqual([]);
      expect(world.instances[0]!.type).toBe("virtual-machine");
    });

    it("switching an instance between container and VM is a disruptive rebuild; stopping a VM is a stop", () => {
      const world = fresh();
      converge(vm, world);
      const asContainer = clone(vm);
      asContainer.lxd.instances[0]!.type = "container";
      expect(plan(asContainer, world)).toMatchObject([{ id: "lxd/lxd.instance/vm1/update", disruptive: true, before: { type: "virtual-machine" }, after: { type: "container" } }]);
      const stopped = clone(vm);
      stopped.lxd.instances[0]!.state = "stopped";
      expect(ids(plan(stopped, world))).toEqual(["lxd/lxd.instance/vm1/stop"]);
    });
  });

  describe("properties", () => {
    it("converges: observe(apply(plan)) plans nothing, from any world, for any spec", () => {
      fc.assert(fc.property(lxdWorldArb, lxdSpecArb, (world, s) => {
        const w = clone(world);
        converge(s, w);
        const again = plan(s, w);
        if (again.length) throw new Error(`not converged: ${again.map((x) => x.id).join(", ")}`);
      }), { numRuns: 400 });
    });

    it("never plans a step against an object Outpost did not create (LXD's default profile/pool only when the spec lists them, never a delete)", () => {
      fc.assert(fc.property(lxdWorldArb, lxdSpecArb, (world, s) => {
        const observed = observeModel(world, ARTIFACTS);
        const notOurs = new Set(observed.objects.filter((o) => o.owner !== "outpost" && o.owner !== "lxd-init").map((o) => `${o.kind}/${o.name}`));
        for (const step of planLxd(s, observed)) {
          if (notOurs.has(`${step.kind}/${step.name}`)) return false;
          if (step.name === "default" && step.action === "delete") return false;
        }
        return true;
      }), { numRuns: 400 });
    });

    it("pure: the same inputs give the same steps, and the inputs are not modified", () => {
      fc.assert(fc.property(lxdWorldArb, lxdSpecArb, (world, s) => {
        const observed = observeModel(world, ARTIFACTS);
        const before = JSON.stringify([observed, s]);
        const a = planLxd(s, observed);
        expect(planLxd(s, observed)).toEqual(a);
        expect(JSON.stringify([observed, s])).toBe(before);
      }), { numRuns: 200 });
    });

    it("only an image or type change is ever disruptive", () => {
      fc.assert(fc.property(lxdWorldArb, lxdSpecArb, (world, s) => {
        for (const step of plan(s, world)) {
          if (!step.disruptive) continue;
          const b = step.before as { image: unknown; type: string }, a = step.after as { image: unknown; type: string };
          if (step.kind !== "lxd.instance" || step.action !== "update" || (b.type === a.type && JSON.stringify(b.image) === JSON.stringify(a.image))) return false;
        }
        return true;
      }), { numRuns: 300 });
    });
  });
});

describe("LXD metrics (pure)", () => {
  it("counts objects per kind (Outpost's separately), instances by state, and sums CPU/memory of running ones", () => {
    const world = fresh();
    converge(site, world);
    world.instances.push({ name: "pet", type: "container", status: "Running", config: {}, devices: {}, profiles: [], state: { cpu: { usage: 2e9 }, memory: { usage: 1000 } } });
    world.instances[0]!.state = { cpu: { usage: 1e9 }, memory: { usage: 500 } };
    const m = lxdMetrics(observeModel(world, ARTIFACTS));
    expect(m).toMatchObject({
      "lxd.instance.count": 3, "lxd.instance.owned": 2, "lxd.instance.running": 2, "lxd.instance.stopped": 1,
      "lxd.profile.count": 2, "lxd.profile.owned": 1, "lxd.storage-pool.count": 2, "lxd.network.count": 1,
      "lxd.instance.cpu_seconds": 3, "lxd.instance.memory_bytes": 1500, "lxd.instance.memory_bytes.pet": 1000, "lxd.instance.cpu_seconds.web1": 1,
    });
  });
});
