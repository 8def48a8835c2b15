/**
 * fast-check generators for the OVN driver's property tests: OVN specs (with set-valued fields in
 * any order, duplicates, attachments) and messy Northbound snapshots (owned and foreign rows with
 * the same names, router peers, tampered peers, foreign ACLs in Outpost's groups).
 */
import fc from "fast-check";
import { Spec, type SpecInput } from "@outpost/shared";
import { OWNED_KEY, OWNED_VALUE, PEER_OF_KEY, type AclRow, type NbSnapshot } from "./nb.ts";

export const POOL = {
  switches: ["sw0", "sw1", "ext"],
  ports: ["p1", "p2", "p3", "lr0-sw0-peer"],
  routers: ["lr0", "lr1"],
  routerPorts: ["lr0-sw0", "lr0-sw1", "lr1-ext"],
  groups: ["pg_web", "pg_db"],
  cidrs: ["10.0.0.0/24", "10.1.0.0/24"],
  addresses: ["dynamic", "00:00:00:00:00:01 10.0.0.10", "00:00:00:00:00:02", "unknown"],
  networks: ["10.0.0.1/24", "10.1.0.1/24", "fd00::1/64"],
  macs: ["00:00:00:00:ff:01", "00:00:00:00:ff:02"],
  acls: [
    { direction: "to-lport", priority: 1000, match: "outport == @pg_web && tcp.dst == 80", action: "allow-related" },
    { direction: "to-lport", priority: 900, match: "outport == @pg_web", action: "drop" },
    { direction: "from-lport", priority: 100, match: "ip4", action: "allow" },
  ] as const,
  dhcpOptions: [{ router: "10.0.0.1", lease_time: "3600" }, { router: "10.0.0.254" }, {}] as Record<string, string>[],
};

const subset = <T>(xs: readonly T[], max = xs.length) => fc.subarray([...xs], { maxLength: max });
/** A list with possible repeats, in any order: what an operator may write for an OVSDB set. */
const bag = <T>(xs: readonly T[], max = 3) => fc.array(fc.constantFrom(...xs), { maxLength: max });

export interface SpecOptions {
  /** Only references the spec itself satisfies: router ports attach to spec'd switches, groups name spec'd ports. */
  consistent?: boolean;
}

export function ovnSpecArb(opts: SpecOptions = {}): fc.Arbitrary<Spec> {
  return fc.record({
    switches: fc.uniqueArray(fc.record({ name: fc.constantFrom(...POOL.switches), subnet: fc.option(fc.constantFrom(...POOL.cidrs), { nil: undefined }) }), { selector: (s) => s.name, maxLength: 3 }),
    ports: fc.array(fc.record({ name: fc.constantFrom(...POOL.ports.slice(0, 3)), sw: fc.nat(), addresses: bag(POOL.addresses), portSecurity: bag(POOL.addresses.slice(1), 2) }), { maxLength: 4 }),
    routers: subset(POOL.routers),
    routerPorts: fc.array(fc.record({ name: fc.constantFrom(...POOL.routerPorts), router: fc.nat(), mac: fc.constantFrom(...POOL.macs), networks: fc.array(fc.constantFrom(...POOL.networks), { minLength: 1, maxLength: 3 }), sw: fc.option(fc.constantFrom(...POOL.switches), { nil: undefined }) }), { maxLength: 3 }),
    groups: fc.uniqueArray(fc.record({ name: fc.constantFrom(...POOL.groups), ports: bag(POOL.ports.slice(0, 3)), acls: bag(POOL.acls, 4) }), { selector: (g) => g.name, maxLength: 2 }),
    dhcp: fc.uniqueArray(fc.record({ cidr: fc.constantFrom(...POOL.cidrs), options: fc.constantFrom(...POOL.dhcpOptions) }), { selector: (d) => d.cidr, maxLength: 2 }),
  }).map((g) => {
    const switches = g.switches.map((s) => ({ ...s, ports: [] as { name: string; addresses: string[]; portSecurity: string[] }[] }));
    const seenPorts = new Set<string>();
    for (const p of g.ports) {
      if (!switches.length || seenPorts.has(p.name)) continue; // a port lives in one switch
      seenPorts.add(p.name);
      switches[p.sw % switches.length]!.ports.push({ name: p.name, addresses: p.addresses, portSecurity: p.portSecurity });
    }
    const routers = g.routers.map((name) => ({ name, ports: [] as { name: string; mac: string; networks: string[]; switch?: string }[] }));
    const seenRps = new Set<string>();
    for (const p of g.routerPorts) {
      if (!routers.length || seenRps.has(p.name)) continue;
      seenRps.add(p.name);
      const sw = opts.consistent && !switches.some((s) => s.name === p.sw) ? undefined : p.sw;
      routers[p.router % routers.length]!.ports.push({ name: p.name, mac: p.mac, networks: p.networks, ...(sw ? { switch: sw } : {}) });
    }
    const portGroups = g.groups.map((x) => ({ name: x.name, ports: opts.consistent ? x.ports.filter((p) => seenPorts.has(p)) : x.ports, acls: x.acls.map((a) => ({ ...a })) }));
    return Spec.parse({ ovn: { switches, routers, portGroups, dhcp: g.dhcp } } satisfies SpecInput);
  });
}

/** The same spec with every set-valued list reordered (and reversed duplicates): it means the same thing. */
export function permuteSets(spec: Spec): Spec {
  const rev = <T>(xs: readonly T[]) => [...xs].reverse();
  const s = structuredClone(spec);
  for (const sw of s.ovn.switches) for (const p of sw.ports) { p.addresses = rev(p.addresses); p.portSecurity = [...rev(p.portSecurity), ...p.portSecurity]; }
  for (const r of s.ovn.routers) for (const p of r.ports) p.networks = rev(p.networks);
  for (const g of s.ovn.portGroups) { g.ports = rev(g.ports); g.acls = [...rev(g.acls), ...g.acls]; }
  return s;
}

const owned = fc.constantFrom(true, true, false);
const ext = (isOwned: boolean, extra: Record<string, string> = {}) => (isOwned ? { [OWNED_KEY]: OWNED_VALUE, ...extra } : { "neutron:owner": "someone", ...extra });

/** A Northbound snapshot as observe() decodes it: any mix of Outpost's and others' rows. */
export const snapshotArb: fc.Arbitrary<NbSnapshot> = fc.record({
  switches: fc.array(fc.record({ name: fc.constantFrom(...POOL.switches), owned, subnet: fc.option(fc.constantFrom(...POOL.cidrs), { nil: undefined }), extra: fc.boolean() }), { maxLength: 4 }),
  lsps: fc.uniqueArray(fc.record({ name: fc.constantFrom(...POOL.ports), owned, parent: fc.nat(), addresses: bag(POOL.addresses), peerOf: fc.option(fc.constantFrom(...POOL.routerPorts), { nil: undefined }), tampered: fc.boolean() }), { selector: (p) => p.name, maxLength: 4 }),
  routers: fc.array(fc.record({ name: fc.constantFrom(...POOL.routers), owned }), { maxLength: 3 }),
  lrps: fc.uniqueArray(fc.record({ name: fc.constantFrom(...POOL.routerPorts), owned, parent: fc.nat(), mac: fc.constantFrom(...POOL.macs), networks: fc.subarray(POOL.networks, { minLength: 1 }) }), { selector: (p) => p.name, maxLength: 3 }),
  groups: fc.uniqueArray(fc.record({ name: fc.constantFrom(...POOL.groups), owned, ports: fc.array(fc.nat(), { maxLength: 3 }), acls: fc.array(fc.record({ acl: fc.constantFrom(...POOL.acls), owned }), { maxLength: 3 }) }), { selector: (g) => g.name, maxLength: 2 }),
  dhcp: fc.array(fc.record({ cidr: fc.constantFrom(...POOL.cidrs), owned, options: fc.constantFrom(...POOL.dhcpOptions) }), { maxLength: 3 }),
}).map((g) => {
  const snap: NbSnapshot = { switches: [], switchPorts: [], routers: [], routerPorts: [], portGroups: [], acls: [], dhcp: [] };
  g.switches.forEach((s, i) => snap.switches.push({ uuid: `ls-${i}`, name: s.name, ports: [], acls: [], otherConfig: { ...(s.subnet ? { subnet: s.subnet } : {}), ...(s.extra ? { mcast_snoop: "true" } : {}) }, externalIds: ext(s.owned) }));
  g.lsps.forEach((p, i) => {
    const parent = snap.switches[p.parent % Math.max(1, snap.switches.length)];
    if (!parent) return; // a port in no switch is garbage: the server would have collected it
    const isPeer = p.owned && p.peerOf !== undefined;
    snap.switchPorts.push({
      uuid: `lsp-${i}`, name: p.name, externalIds: ext(p.owned, isPeer ? { [PEER_OF_KEY]: p.peerOf! } : {}),
      type: isPeer ? "router" : "", addresses: isPeer ? (p.tampered ? ["00:00:00:00:00:09"] : ["router"]) : p.addresses,
      portSecurity: [], options: isPeer ? { "router-port": p.peerOf! } : {},
    });
    parent.ports.push(`lsp-${i}`);
  });
  g.routers.forEach((r, i) => snap.routers.push({ uuid: `lr-${i}`, name: r.name, ports: [], externalIds: ext(r.owned) }));
  g.lrps.forEach((p, i) => {
    const parent = snap.routers[p.parent % Math.max(1, snap.routers.length)];
    if (!parent) return;
    snap.routerPorts.push({ uuid: `lrp-${i}`, name: p.name, mac: p.mac, networks: p.networks, externalIds: ext(p.owned) });
    parent.ports.push(`lrp-${i}`);
  });
  let acl = 0;
  g.groups.forEach((x, i) => {
    const acls: AclRow[] = x.acls.map((a) => ({ uuid: `acl-${acl++}`, ...a.acl, externalIds: ext(a.owned) }));
    snap.acls.push(...acls);
    const ports = [...new Set(x.ports.map((n) => snap.switchPorts[n % Math.max(1, snap.switchPorts.length)]?.uuid).filter((u) => u !== undefined))];
    snap.portGroups.push({ uuid: `pg-${i}`, name: x.name, ports, acls: acls.map((a) => a.uuid), externalIds: ext(x.owned) });
  });
  g.dhcp.forEach((d, i) => snap.dhcp.push({ uuid: `dhcp-${i}`, cidr: d.cidr, options: { ...d.options }, externalIds: ext(d.owned) }));
  return snap;
});
