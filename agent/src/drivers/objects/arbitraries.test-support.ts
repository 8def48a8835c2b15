/** fast-check generators of bundle specs and observed sim worlds, for the planner's property tests. */
import fc from "fast-check";
import { Spec, type SpecInput } from "@outpost/shared";
import type { SimObject } from "./desired.ts";

const name = fc.constantFrom("a", "b", "c", "web1", "web2", "db", "default", "x-1");
const names = (max: number) => fc.uniqueArray(name, { maxLength: max });
const smap = fc.dictionary(fc.constantFrom("k1", "k2", "limits.cpu"), fc.constantFrom("1", "2", "on", ""), { maxKeys: 2 });

export const specArb: fc.Arbitrary<Spec> = fc.record({
  pools: names(3), images: fc.array(fc.tuple(name, name, fc.integer({ min: 1, max: 4096 })), { maxLength: 3 }),
  switches: fc.array(fc.record({ name, subnet: fc.option(fc.constantFrom("10.0.0.0/24", "10.1.0.0/24"), { nil: undefined }), ports: names(2) }), { maxLength: 3 }),
  routers: fc.array(fc.record({ name, ports: names(2) }), { maxLength: 2 }),
  groups: fc.array(fc.record({ name: fc.constantFrom("pg_web", "pg_db"), ports: names(2) }), { maxLength: 2 }),
  dhcp: fc.uniqueArray(fc.constantFrom("10.0.0.0/24", "10.2.0.0/16"), { maxLength: 2 }),
  storage: names(2), networks: names(2), profiles: fc.array(fc.record({ name, config: smap }), { maxLength: 3 }),
  instances: fc.array(fc.record({ name, state: fc.constantFrom("running", "stopped" as const), profiles: names(2), config: smap, image: fc.constantFrom("debian-12", "alpine") }), { maxLength: 4 }),
  packages: fc.array(fc.record({ name: fc.constantFrom("lxd", "ovn-host", "ceph-common"), version: fc.constantFrom("1.0", "2.0-1"), disruptive: fc.boolean() }), { maxLength: 3 }),
  security: fc.boolean(),
}).map((g) => Spec.parse({
  ceph: {
    pools: g.pools.map((n) => ({ name: n, size: 3 })),
    rbdImages: g.images.map(([pool, n, sizeMiB]) => ({ pool, name: n, sizeMiB })),
  },
  ovn: {
    switches: g.switches.map((s) => ({ name: s.name, ...(s.subnet ? { subnet: s.subnet } : {}), ports: s.ports.map((p) => ({ name: `${s.name}-${p}`, addresses: ["dynamic"] })) })),
    routers: g.routers.map((r) => ({ name: r.name, ports: r.ports.map((p, i) => ({ name: `${r.name}-${p}`, mac: `00:00:00:00:00:0${i}`, networks: ["10.0.0.1/24"] })) })),
    portGroups: g.groups.map((x) => ({ name: x.name, ports: x.ports, acls: [{ direction: "to-lport", priority: 100, match: "ip4", action: "allow" }] })),
    dhcp: g.dhcp.map((cidr) => ({ cidr, options: { router: "10.0.0.1" } })),
  },
  lxd: {
    storagePools: g.storage.map((n) => ({ name: n, driver: "dir" })),
    networks: g.networks.map((n) => ({ name: n })),
    profiles: g.profiles.map((p) => ({ name: p.name, config: p.config })),
    instances: g.instances.map((i) => ({ name: i.name, image: { alias: i.image }, profiles: i.profiles, config: i.config, state: i.state })),
  },
  host: { packages: g.packages, securityUpdates: { enabled: g.security } },
} satisfies SpecInput));

const kinds = ["ceph.pool", "ceph.rbd-image", "ovn.switch", "ovn.switch-port", "ovn.router", "ovn.port-group", "ovn.dhcp",
  "lxd.storage-pool", "lxd.network", "lxd.profile", "lxd.instance", "host.package", "host.security-updates"];

/** A messy observed world: random objects of every kind, some owned by someone else. */
export const worldArb: fc.Arbitrary<SimObject[]> = fc.uniqueArray(
  fc.record({
    kind: fc.constantFrom(...kinds),
    name: fc.oneof(name, fc.constantFrom("10.0.0.0/24", "a/b", "lxd", "unattended-upgrades")),
    fields: fc.oneof(fc.constant({}), fc.record({ state: fc.constantFrom("running", "stopped") }), fc.dictionary(fc.constantFrom("size", "config", "version"), fc.jsonValue(), { maxKeys: 2 })),
    owner: fc.constantFrom("outpost", "outpost", "outpost", "operator"),
  }),
  { selector: (o) => `${o.kind} ${o.name}`, maxLength: 12 },
).map((objs) => objs.map((o) => ({ ...o, fields: JSON.parse(JSON.stringify(o.fields)) as Record<string, unknown> })));
