import { describe, expect, it } from "vitest";
import { Spec } from "@outpost/shared";
import { desiredObjects } from "../objects/desired.ts";
import { normalize, normalizeInstance, normalizeNetwork, normalizePool, normalizeProfile, type RawInstance } from "./normalize.ts";

// An instance as LXD 5.0.2 reported it here (GET /1.0/instances?recursion=2), trimmed of members we do not read.
const reported: RawInstance = {
  architecture: "x86_64",
  config: {
    "image.build": "a6080f965f4c2563", "image.description": "Outpost test image (busybox-static)", "image.os": "busybox", "image.release": "1.35.0",
    "limits.memory": "64MB",
    "user.outpost.owned": "true",
    "volatile.base_image": "4bfec394bfb63f8398175c64d9dbf92dc8f3dbbaf4c19aeac24eae1a1b5dcb3b",
    "volatile.cloud-init.instance-id": "0186c8ce-cad3-4a2c-8460-670ee66fd9d6",
    "volatile.idmap.base": "0",
    "volatile.last_state.power": "RUNNING",
    "volatile.uuid": "6cfd763c-cdb5-499f-bbf4-0f1d0765671b",
  },
  devices: {},
  ephemeral: false,
  profiles: ["web"],
  stateful: false,
  description: "",
  name: "web1",
  status: "Running",
  type: "container",
  state: { cpu: { usage: 8_948_973 }, memory: { usage: 622_592 } },
};

describe("normalising what LXD reports", () => {
  it("an instance carries the spec's fields: LXD's volatile/image keys and the ownership mark are gone, status becomes state", () => {
    expect(normalizeInstance(reported)).toEqual({
      kind: "lxd.instance", name: "web1", owner: "outpost",
      fields: {
        type: "container",
        image: { fingerprint: "4bfec394bfb63f8398175c64d9dbf92dc8f3dbbaf4c19aeac24eae1a1b5dcb3b" },
        profiles: ["web"], config: { "limits.memory": "64MB" }, devices: {}, state: "running",
      },
    });
    // Same field names as the desired object for the same instance, so the planner can compare them.
    const spec = Spec.parse({ lxd: { instances: [{ name: "web1", image: { alias: "x" }, profiles: ["web"], config: { "limits.memory": "64MB" } }] } });
    expect(Object.keys(desiredObjects(spec, "lxd")[0]!.fields).sort()).toEqual(Object.keys(normalizeInstance(reported).fields).sort());
  });

  it("Stopped, Frozen and Error are kept distinct (only Running matches a running spec)", () => {
    expect(normalizeInstance({ ...reported, status: "Stopped" }).fields.state).toBe("stopped");
    expect(normalizeInstance({ ...reported, status: "Frozen" }).fields.state).toBe("frozen");
    expect(normalizeInstance({ ...reported, status: "Error" }).fields.state).toBe("error");
  });

  it("ownership: only marked objects are Outpost's; LXD's default profile and pool are adoptable; host interfaces are the host's", () => {
    const { "user.outpost.owned": _mark, ...unmarked } = reported.config!;
    expect(normalizeInstance({ ...reported, config: unmarked }).owner).toBe("foreign");
    expect(normalizeInstance({ ...reported, config: { ...unmarked, "user.outpost.owned": "yes" } }).owner).toBe("foreign");
    expect(normalizeProfile({ name: "default", description: "Default LXD profile", config: {}, devices: {} }).owner).toBe("lxd-init");
    expect(normalizeProfile({ name: "other", description: "", config: null, devices: null }).owner).toBe("foreign");
    expect(normalizePool({ name: "default", driver: "dir", config: { source: "/var/lib/lxd/storage-pools/default" } }).owner).toBe("lxd-init");
    expect(normalizePool({ name: "p", driver: "dir", config: { source: "/x", "user.outpost.owned": "true" } })).toEqual({
      kind: "lxd.storage-pool", name: "p", owner: "outpost", fields: { driver: "dir", config: { source: "/x" } },
    });
    expect(normalizeNetwork({ name: "eth0", type: "physical", managed: false, config: {} }).owner).toBe("host");
    expect(normalizeNetwork({ name: "br", type: "bridge", managed: true, config: { "user.outpost.owned": "true", "ipv4.address": "10.0.0.1/24", "volatile.x": "1" } })).toEqual({
      kind: "lxd.network", name: "br", owner: "outpost", fields: { type: "bridge", config: { "ipv4.address": "10.0.0.1/24" } },
    });
  });

  it("null maps from LXD read as empty; an instance not made from an image has image null", () => {
    const bare = normalizeInstance({ name: "x", type: "container", status: "Stopped", config: null, devices: null, profiles: null });
    expect(bare.fields).toEqual({ type: "container", image: null, profiles: [], config: {}, devices: {}, state: "stopped" });
  });

  it("keeps image aliases, the bundle's artifacts, and CPU/memory of running instances only", () => {
    const o = normalize({
      pools: [], networks: [], profiles: [],
      instances: [reported, { ...reported, name: "off", status: "Stopped", state: { cpu: { usage: 0 }, memory: { usage: 0 } } }],
      images: [{ fingerprint: "ab".repeat(32), aliases: [{ name: "base" }] }, { fingerprint: "cd".repeat(32), aliases: null }],
    }, [{ name: "img", sha256: "ef".repeat(32), size: 3, url: "/x" } as never]);
    expect(o.images).toEqual([{ fingerprint: "ab".repeat(32), aliases: ["base"] }, { fingerprint: "cd".repeat(32), aliases: [] }]);
    expect(o.artifacts).toEqual([{ name: "img", sha256: "ef".repeat(32) }]);
    expect(o.usage).toEqual({ web1: { cpuSeconds: 0.008948973, memoryBytes: 622_592 } });
  });
});
