import { z } from "zod";
import { Name, Sha256Hex, StringMap } from "./names.ts";

// --- LXD -------------------------------------------------------------------------------------
export const LxdStoragePool = z.strictObject({
  name: Name,
  driver: z.enum(["dir", "zfs", "btrfs", "lvm", "ceph", "cephfs"]),
  config: StringMap.default({}),
});
export const LxdNetwork = z.strictObject({
  name: Name,
  type: z.enum(["bridge", "ovn", "macvlan", "sriov", "physical"]).default("bridge"),
  config: StringMap.default({}),
});
export const LxdDevice = StringMap; // LXD devices are string maps with a "type" key
export const LxdProfile = z.strictObject({
  name: Name,
  description: z.string().max(1024).default(""),
  config: StringMap.default({}),
  devices: z.record(Name, LxdDevice).default({}),
});
export const LxdImageRef = z.union([
  z.strictObject({ fingerprint: z.string().regex(/^[a-f0-9]{12,64}$/) }),
  z.strictObject({ alias: Name }),
  /** An image shipped out of band through the bundle's artifacts[] (by artifact name). */
  z.strictObject({ artifact: Name }),
]);
export const LxdInstance = z.strictObject({
  name: Name,
  type: z.enum(["container", "virtual-machine"]).default("container"),
  image: LxdImageRef,
  profiles: z.array(Name).default(["default"]),
  config: StringMap.default({}),
  devices: z.record(Name, LxdDevice).default({}),
  state: z.enum(["running", "stopped"]).default("running"),
});
export const LxdSpec = z.strictObject({
  storagePools: z.array(LxdStoragePool).default([]),
  networks: z.array(LxdNetwork).default([]),
  profiles: z.array(LxdProfile).default([]),
  instances: z.array(LxdInstance).default([]),
});

// --- OVN -------------------------------------------------------------------------------------
export const OvnSwitchPort = z.strictObject({
  name: Name,
  /** e.g. ["00:00:00:00:00:01 10.0.0.10"] or ["dynamic"], as in OVN's Logical_Switch_Port.addresses */
  addresses: z.array(z.string().max(256)).default([]),
  portSecurity: z.array(z.string().max(256)).default([]),
});
export const OvnSwitch = z.strictObject({
  name: Name,
  subnet: z.string().max(64).optional(),
  ports: z.array(OvnSwitchPort).default([]),
});
export const OvnRouterPort = z.strictObject({
  name: Name,
  mac: z.string().regex(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/, "must be a lowercase MAC address"),
  networks: z.array(z.string().max(64)).min(1),
  /** The logical switch this router port is attached to (OVN adds the peer switch port). */
  switch: Name.optional(),
});
export const OvnRouter = z.strictObject({ name: Name, ports: z.array(OvnRouterPort).default([]) });
export const OvnAcl = z.strictObject({
  direction: z.enum(["from-lport", "to-lport"]),
  priority: z.number().int().min(0).max(32767),
  match: z.string().min(1).max(1024),
  action: z.enum(["allow", "allow-related", "allow-stateless", "drop", "reject"]),
});
export const OvnPortGroup = z.strictObject({
  name: z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]{0,62}$/, "OVN port group names are identifiers (letters, digits, '_')"),
  ports: z.array(Name).default([]),
  acls: z.array(OvnAcl).default([]),
});
export const OvnDhcp = z.strictObject({ cidr: z.string().max(64), options: StringMap.default({}) });
export const OvnSpec = z.strictObject({
  switches: z.array(OvnSwitch).default([]),
  routers: z.array(OvnRouter).default([]),
  portGroups: z.array(OvnPortGroup).default([]),
  dhcp: z.array(OvnDhcp).default([]),
});

// --- Ceph ------------------------------------------------------------------------------------
export const CephPool = z.strictObject({
  name: Name,
  size: z.number().int().min(1).max(10).default(3),
  pgAutoscale: z.enum(["on", "off", "warn"]).default("on"),
  application: z.enum(["rbd", "cephfs", "rgw"]).default("rbd"),
});
export const RbdImage = z.strictObject({ pool: Name, name: Name, sizeMiB: z.number().int().min(1) });
export const CephSpec = z.strictObject({
  pools: z.array(CephPool).default([]),
  rbdImages: z.array(RbdImage).default([]),
});

// --- Host ------------------------------------------------------------------------------------
export const HostPackage = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9+.-]{0,126}$/, "must be a Debian package name"),
  version: z.string().regex(/^[A-Za-z0-9.+~:-]{1,128}$/, "must be a Debian version string"),
  /** Disruptive changes (kernel, LXD itself) wait for the maintenance window. */
  disruptive: z.boolean().default(false),
});
export const HostSpec = z.strictObject({
  packages: z.array(HostPackage).default([]),
  securityUpdates: z
    .strictObject({ enabled: z.boolean().default(false), disruptive: z.boolean().default(true) })
    .default(() => ({ enabled: false, disruptive: true })),
});

// --- Agent -----------------------------------------------------------------------------------
export const MaintenanceWindow = z.strictObject({
  cron: z.string().min(9).max(128),
  durationMinutes: z.number().int().min(1).max(24 * 60),
  timezone: z.string().min(1).max(64).default("UTC"),
});
export const AgentSpec = z.strictObject({
  pollIntervalSeconds: z.number().int().min(1).max(3600).default(30),
  healIntervalSeconds: z.number().int().min(1).max(3600).default(60),
  maintenanceWindows: z.array(MaintenanceWindow).default([]),
});

// Object defaults are factories: zod returns a shallow copy of a literal default, so nested arrays
// would be shared by every parsed spec and a mutation of one would leak into all later ones.
export const Spec = z.strictObject({
  lxd: LxdSpec.default(() => ({ storagePools: [], networks: [], profiles: [], instances: [] })),
  ovn: OvnSpec.default(() => ({ switches: [], routers: [], portGroups: [], dhcp: [] })),
  ceph: CephSpec.default(() => ({ pools: [], rbdImages: [] })),
  host: HostSpec.default(() => ({ packages: [], securityUpdates: { enabled: false, disruptive: true } })),
  agent: AgentSpec.default(() => ({ pollIntervalSeconds: 30, healIntervalSeconds: 60, maintenanceWindows: [] })),
});
export type Spec = z.output<typeof Spec>;
export type SpecInput = z.input<typeof Spec>;

export const Artifact = z.strictObject({
  name: Name,
  sha256: Sha256Hex,
  size: z.number().int().min(0),
  /** Relative URLs resolve against the hub (the content-addressed artifact endpoint). */
  url: z.string().max(2048),
});
export type Artifact = z.output<typeof Artifact>;
