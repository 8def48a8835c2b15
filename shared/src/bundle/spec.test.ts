import { describe, expect, it } from "vitest";
import { Name, SiteName, Sha256Hex } from "./names.ts";
import { BundlePayload } from "./payload.ts";
import { Spec } from "./spec.ts";

const EMPTY_SPEC = {
  lxd: { storagePools: [], networks: [], profiles: [], instances: [] },
  ovn: { switches: [], routers: [], portGroups: [], dhcp: [] },
  ceph: { pools: [], rbdImages: [] },
  host: { packages: [], securityUpdates: { enabled: false, disruptive: true } },
  agent: { pollIntervalSeconds: 30, healIntervalSeconds: 60, maintenanceWindows: [] },
};

/** The issues of a failed parse, with their paths, so tests can assert which field was named. */
function issues(schema: { safeParse(v: unknown): { success: boolean; error?: { issues: { path: PropertyKey[]; code: string; message: string; keys?: string[] }[] } } }, v: unknown) {
  const r = schema.safeParse(v);
  expect(r.success, "expected the schema to refuse the input").toBe(false);
  return r.error!.issues;
}

describe("Spec defaults", () => {
  it("an empty spec fills every section", () => {
    expect(Spec.parse({})).toEqual(EMPTY_SPEC);
  });

  it("an empty section is filled like a missing one", () => {
    expect(Spec.parse({ lxd: {}, ovn: {}, ceph: {}, host: {}, agent: {} })).toEqual(EMPTY_SPEC);
    expect(Spec.parse({ host: { securityUpdates: {} } }).host.securityUpdates).toEqual({ enabled: false, disruptive: true });
  });

  it("fills item defaults inside a given section and leaves the other sections at their defaults", () => {
    const s = Spec.parse({
      lxd: { instances: [{ name: "web", image: { alias: "debian" } }], networks: [{ name: "lxdbr0" }] },
      ceph: { pools: [{ name: "rbd" }] },
      host: { packages: [{ name: "lxd", version: "5.21" }] },
      agent: { maintenanceWindows: [{ cron: "0 2 * * *", durationMinutes: 60 }] },
    });
    expect(s.lxd.instances).toEqual([{ name: "web", type: "container", image: { alias: "debian" }, profiles: ["default"], config: {}, devices: {}, state: "running" }]);
    expect(s.lxd.networks).toEqual([{ name: "lxdbr0", type: "bridge", config: {} }]);
    expect(s.ceph.pools).toEqual([{ name: "rbd", size: 3, pgAutoscale: "on", application: "rbd" }]);
    expect(s.host.packages).toEqual([{ name: "lxd", version: "5.21", disruptive: false }]);
    expect(s.agent.maintenanceWindows).toEqual([{ cron: "0 2 * * *", durationMinutes: 60, timezone: "UTC" }]);
    expect(s.ovn).toEqual(EMPTY_SPEC.ovn);
  });

  it("every parse gets its own default objects (mutating one spec does not leak into the next)", () => {
    const a = Spec.parse({});
    a.lxd.instances.push({ name: "leak", type: "container", image: { alias: "x" }, profiles: [], config: {}, devices: {}, state: "running" });
    a.ovn.switches.push({ name: "leak", ports: [] });
    a.host.packages.push({ name: "leak", version: "1", disruptive: false });
    a.host.securityUpdates.enabled = true;
    a.agent.maintenanceWindows.push({ cron: "0 0 * * *", durationMinutes: 1, timezone: "UTC" });
    a.ceph.pools.push({ name: "leak", size: 1, pgAutoscale: "on", application: "rbd" });
    expect(Spec.parse({})).toEqual(EMPTY_SPEC);
    expect(Spec.parse({ host: {} }).host.securityUpdates.enabled).toBe(false);
    const withInstance = () => Spec.parse({ lxd: { instances: [{ name: "web", image: { alias: "debian" } }] } }).lxd.instances[0]!;
    withInstance().profiles.push("gpu");
    withInstance().config["limits.cpu"] = "64";
    expect(withInstance()).toMatchObject({ profiles: ["default"], config: {} });
  });

  it("BundlePayload defaults artifacts to an empty list", () => {
    const p = BundlePayload.parse({
      apiVersion: "outpost/v1", site: "a", version: 1, issuedAt: "2030-01-01T00:00:00Z", expiresAt: "2030-01-02T00:00:00Z",
      keysVersion: 1, release: { name: "r", version: "1" }, spec: {},
    });
    expect(p.artifacts).toEqual([]);
    expect(p.spec).toEqual(EMPTY_SPEC);
  });
});

describe("Spec strictness", () => {
  it("refuses an unknown top-level section, naming it", () => {
    const [i] = issues(Spec, { lxd: {}, kubernetes: {} });
    expect(i).toMatchObject({ code: "unrecognized_keys", keys: ["kubernetes"], path: [] });
  });

  it("refuses unknown fields deep inside, with the path to the object", () => {
    const [i] = issues(Spec, { lxd: { instances: [{ name: "web", image: { alias: "debian" } }, { name: "db", image: { alias: "debian" }, cpu: 4 }] } });
    expect(i).toMatchObject({ code: "unrecognized_keys", keys: ["cpu"], path: ["lxd", "instances", 1] });
    const [j] = issues(Spec, { host: { securityUpdates: { enabled: true, reboot: true } } });
    expect(j).toMatchObject({ keys: ["reboot"], path: ["host", "securityUpdates"] });
    const [k] = issues(Spec, { ovn: { portGroups: [{ name: "pg", acls: [{ direction: "to-lport", priority: 1, match: "ip4", action: "drop", log: true }] }] } });
    expect(k).toMatchObject({ keys: ["log"], path: ["ovn", "portGroups", 0, "acls", 0] });
  });

  it("an image reference is exactly one of fingerprint, alias, artifact", () => {
    expect(Spec.safeParse({ lxd: { instances: [{ name: "a", image: { fingerprint: "abcdef012345" } }] } }).success).toBe(true);
    expect(Spec.safeParse({ lxd: { instances: [{ name: "a", image: { artifact: "debian-12" } }] } }).success).toBe(true);
    expect(Spec.safeParse({ lxd: { instances: [{ name: "a", image: { alias: "x", fingerprint: "abcdef012345" } }] } }).success).toBe(false);
    expect(Spec.safeParse({ lxd: { instances: [{ name: "a", image: {} }] } }).success).toBe(false);
    expect(Spec.safeParse({ lxd: { instances: [{ name: "a", image: { fingerprint: "ABCDEF012345" } }] } }).success).toBe(false);
  });

  it("refuses the BundlePayload with an unknown top-level field", () => {
    const [i] = issues(BundlePayload, {
      apiVersion: "outpost/v1", site: "a", version: 1, issuedAt: "2030-01-01T00:00:00Z", expiresAt: "2030-01-02T00:00:00Z",
      keysVersion: 1, release: { name: "r", version: "1" }, spec: {}, signature: "x",
    });
    expect(i).toMatchObject({ keys: ["signature"], path: [] });
  });

  it("refuses out-of-range numbers and bad enum values, naming the field", () => {
    expect(issues(Spec, { agent: { pollIntervalSeconds: 0 } })[0]!.path).toEqual(["agent", "pollIntervalSeconds"]);
    expect(issues(Spec, { agent: { healIntervalSeconds: 1.5 } })[0]!.path).toEqual(["agent", "healIntervalSeconds"]);
    expect(issues(Spec, { ceph: { pools: [{ name: "p", size: 11 }] } })[0]!.path).toEqual(["ceph", "pools", 0, "size"]);
    expect(issues(Spec, { lxd: { storagePools: [{ name: "p", driver: "ntfs" }] } })[0]!.path).toEqual(["lxd", "storagePools", 0, "driver"]);
    expect(issues(Spec, { ovn: { routers: [{ name: "r", ports: [{ name: "p", mac: "AA:BB:CC:DD:EE:FF", networks: ["10.0.0.1/24"] }] }] } })[0]!.path)
      .toEqual(["ovn", "routers", 0, "ports", 0, "mac"]);
    expect(issues(Spec, { ovn: { routers: [{ name: "r", ports: [{ name: "p", mac: "aa:bb:cc:dd:ee:ff", networks: [] }] }] } })[0]!.path)
      .toEqual(["ovn", "routers", 0, "ports", 0, "networks"]);
    expect(issues(Spec, { host: { packages: [{ name: "Bad_Pkg", version: "1" }] } })[0]!.path).toEqual(["host", "packages", 0, "name"]);
  });
});

describe("names", () => {
  const bad = ["../etc", "..", ".hidden", "", "a".repeat(64), "a/b", "web server", "-web", "_web", "wéb", "a\n", "a;rm -rf"];
  const good = ["a", "web", "Web-01", "debian.12", "db_primary", "a".repeat(63), "0"];

  it.each(bad)("refuses the name %j everywhere a name goes", (n) => {
    expect(Name.safeParse(n).success).toBe(false);
    expect(issues(Spec, { lxd: { instances: [{ name: n, image: { alias: "debian" } }] } })[0]!.path).toEqual(["lxd", "instances", 0, "name"]);
    expect(issues(Spec, { lxd: { instances: [{ name: "ok", image: { alias: "debian" }, profiles: ["default", n] }] } })[0]!.path).toEqual(["lxd", "instances", 0, "profiles", 1]);
    expect(issues(Spec, { ceph: { rbdImages: [{ pool: n, name: "img", sizeMiB: 1 }] } })[0]!.path).toEqual(["ceph", "rbdImages", 0, "pool"]);
    expect(issues(Spec, { lxd: { profiles: [{ name: "p", devices: { [n]: { type: "disk" } } }] } })[0]!.path.slice(0, 4)).toEqual(["lxd", "profiles", 0, "devices"]);
  });

  it.each(good)("accepts the name %j", (n) => {
    expect(Name.parse(n)).toBe(n);
  });

  it("site names are DNS labels", () => {
    for (const s of ["a", "edge-eu-1", "a".repeat(63), "0site"]) expect(SiteName.safeParse(s).success, s).toBe(true);
    for (const s of ["", "Edge", "-a", "a-", "a".repeat(64), "a.b", "a_b", "../x"]) expect(SiteName.safeParse(s).success, s).toBe(false);
  });

  it("sha256 digests are 64 lowercase hex characters", () => {
    expect(Sha256Hex.safeParse("ab".repeat(32)).success).toBe(true);
    for (const s of ["AB".repeat(32), "ab".repeat(31), "ab".repeat(33), "zz".repeat(32)]) expect(Sha256Hex.safeParse(s).success).toBe(false);
  });
});
