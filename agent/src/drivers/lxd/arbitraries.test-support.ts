/** fast-check generators of LXD specs and of messy LXD worlds (as LXD's API reports them). */
import fc from "fast-check";
import { Spec, type Artifact, type SpecInput } from "@outpost/shared";
import { OWNED_KEY, type LxdRaw, type RawInstance, type StringMap } from "./normalize.ts";

const hex = (c: string) => c.repeat(64);
export const FP_ALIAS = hex("a"); // an image with the alias "base"
export const FP_OTHER = hex("b");
export const ARTIFACTS: Artifact[] = [
  { name: "img-a", sha256: hex("c"), size: 1000, url: `/agent/v1/artifacts/${hex("c")}` },
  { name: "img-b", sha256: hex("d"), size: 1000, url: `/agent/v1/artifacts/${hex("d")}` },
];

const name = fc.constantFrom("a", "b", "web", "default");
const names = (max: number) => fc.uniqueArray(name, { maxLength: max });
const value = fc.constantFrom("1", "2", "true", "");
/** Includes keys the spec may not set (volatile, ownership mark, image.*): the planner must ignore them. */
const config = fc.dictionary(fc.constantFrom("limits.cpu", "limits.memory", "user.k", "security.nesting", "volatile.junk", OWNED_KEY, "image.os"), value, { maxKeys: 3 });
const netConfig = fc.dictionary(fc.constantFrom("ipv4.address", "ipv4.nat", "dns.domain", "user.k"), fc.constantFrom("10.0.0.1/24", "true", "false", "lxd"), { maxKeys: 3 });
const devices = fc.constantFrom<Record<string, StringMap>>({}, { eth0: { type: "nic", network: "a", name: "eth0" } }, { root: { type: "disk", path: "/", pool: "default" } });
const imageRef = fc.constantFrom({ artifact: "img-a" }, { artifact: "img-b" }, { alias: "base" }, { fingerprint: FP_OTHER.slice(0, 12) }, { fingerprint: FP_ALIAS });

export const lxdSpecArb: fc.Arbitrary<Spec> = fc.record({
  pools: names(2),
  networks: fc.array(fc.record({ name, config: netConfig }), { maxLength: 2 }),
  profiles: fc.array(fc.record({ name, description: fc.constantFrom("", "web tier"), config, devices }), { maxLength: 3 }),
  instances: fc.array(fc.record({
    name, type: fc.constantFrom("container", "container", "virtual-machine"), image: imageRef,
    profiles: names(2), config, devices, state: fc.constantFrom("running", "stopped"),
  }), { maxLength: 4 }),
}).map((g) => Spec.parse({
  lxd: {
    storagePools: g.pools.map((n) => ({ name: n, driver: "dir" })),
    networks: g.networks.map((n) => ({ name: n.name, type: "bridge", config: n.config })),
    profiles: g.profiles,
    instances: g.instances,
  },
} satisfies SpecInput));

const mark = (owned: boolean, c: StringMap): StringMap => (owned ? { ...c, [OWNED_KEY]: "true" } : c);
const owner = fc.constantFrom(true, true, false);

/** A world LXD could report: its own defaults, Outpost's objects in any state, someone else's objects. */
export const lxdWorldArb: fc.Arbitrary<LxdRaw> = fc.record({
  pools: fc.uniqueArray(fc.record({ name: fc.constantFrom("a", "b", "web"), owned: owner, config: fc.dictionary(fc.constantFrom("user.k", "volatile.initial_source"), value, { maxKeys: 1 }) }), { selector: (p) => p.name, maxLength: 2 }),
  networks: fc.uniqueArray(fc.record({ name: fc.constantFrom("a", "b", "web"), owned: owner, config: netConfig }), { selector: (n) => n.name, maxLength: 2 }),
  profiles: fc.uniqueArray(fc.record({ name: fc.constantFrom("a", "b", "web"), owned: owner, description: fc.constantFrom("", "old"), config, devices }), { selector: (p) => p.name, maxLength: 2 }),
  defaultProfileDevices: devices,
  instances: fc.uniqueArray(fc.record({
    name: fc.constantFrom("a", "b", "web", "db"), owned: owner, type: fc.constantFrom("container", "virtual-machine"),
    base: fc.constantFrom(FP_ALIAS, FP_OTHER, ARTIFACTS[0]!.sha256, ARTIFACTS[1]!.sha256),
    status: fc.constantFrom("Running", "Stopped", "Frozen"), config, devices, profiles: names(2),
  }), { selector: (i) => i.name, maxLength: 3 }),
}).map((g): LxdRaw => ({
  pools: [
    { name: "default", driver: "dir", description: "", config: { source: "/var/lib/lxd/storage-pools/default" } },
    ...g.pools.map((p) => ({ name: p.name, driver: "dir", description: "", config: mark(p.owned, { source: `/var/lib/lxd/storage-pools/${p.name}`, ...p.config }) })),
  ],
  networks: [
    { name: "lo", type: "loopback", managed: false, description: "", config: {} },
    { name: "eth0", type: "physical", managed: false, description: "", config: {} },
    ...g.networks.map((n) => ({ name: n.name, type: "bridge", managed: true, description: "", config: mark(n.owned, { "ipv6.address": "fd42::1/64", ...n.config }) })),
  ],
  profiles: [
    { name: "default", description: "Default LXD profile", config: {}, devices: g.defaultProfileDevices },
    ...g.profiles.map((p) => ({ name: p.name, description: p.description, config: mark(p.owned, p.config), devices: p.devices })),
  ],
  instances: g.instances.map((i): RawInstance => ({
    name: i.name, type: i.type, status: i.status, architecture: "x86_64", description: "", ephemeral: false, stateful: false,
    config: mark(i.owned, { ...i.config, "volatile.base_image": i.base, "volatile.idmap.base": "0", "image.description": "busybox" }),
    devices: i.devices, profiles: i.profiles,
  })),
  images: [{ fingerprint: FP_ALIAS, aliases: [{ name: "base" }] }, { fingerprint: FP_OTHER, aliases: [] }],
}));
