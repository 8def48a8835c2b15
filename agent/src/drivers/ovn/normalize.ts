/**
 * The Northbound snapshot as the shared planner's objects (drivers/objects/desired.ts): the same
 * kinds, names and fields that desiredObjects(spec, "ovn") produces, so a site that matches its
 * spec plans no steps. Pure.
 *
 * OVSDB columns that are sets have no order and no duplicates, so both sides go through
 * canonicalFields: set-like arrays sorted and de-duplicated. Otherwise ["a","b"] in the spec and
 * {"b","a"} in the database would differ forever.
 */
import { canonicalJson } from "../../lib/canonical-json.ts";
import { OUTPOST_OWNER, type ObservedObjects, type SiteObject } from "../objects/desired.ts";
import { isOwned, peerOf, type NbSnapshot, type RouterPortRow, type SwitchPortRow } from "./nb.ts";

/** The owner given to rows without Outpost's mark: anything but "outpost" is left alone by the planner. */
export const FOREIGN_OWNER = "foreign";

export interface OvnObserved extends ObservedObjects {
  /** Rows seen per table, owned or not (for metrics). */
  rowCounts: Record<string, number>;
}

const sortedUnique = (xs: unknown): string[] => [...new Set(Array.isArray(xs) ? (xs as string[]) : [])].sort();

export interface AclFields { direction: string; priority: number; match: string; action: string }
const aclKey = (a: AclFields): string => canonicalJson({ direction: a.direction, priority: a.priority, match: a.match, action: a.action });

/** ACLs as a set: one of each (direction, priority, match, action), in a stable order. */
export function canonicalAcls(acls: readonly AclFields[]): AclFields[] {
  const byKey = new Map<string, AclFields>();
  for (const a of acls) byKey.set(aclKey(a), { direction: a.direction, priority: a.priority, match: a.match, action: a.action });
  return [...byKey.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);
}
export { aclKey };

/** Fields in the one form both sides compare in (set-valued arrays sorted, de-duplicated). */
export function canonicalFields(kind: string, fields: Record<string, unknown>): Record<string, unknown> {
  const f = { ...fields };
  switch (kind) {
    case "ovn.switch-port":
      f.addresses = sortedUnique(f.addresses);
      f.portSecurity = sortedUnique(f.portSecurity);
      break;
    case "ovn.router-port":
      f.networks = sortedUnique(f.networks);
      break;
    case "ovn.port-group":
      f.ports = sortedUnique(f.ports);
      f.acls = canonicalAcls(Array.isArray(f.acls) ? (f.acls as AclFields[]) : []);
      break;
  }
  return JSON.parse(JSON.stringify(f)) as Record<string, unknown>;
}

/** Among rows sharing a name (Logical_Switch, Logical_Router and DHCP_Options have no unique index), Outpost's own wins. */
function pickByName<T extends { externalIds: Record<string, string> }>(rows: readonly T[], nameOf: (r: T) => string): Map<string, T> {
  const out = new Map<string, T>();
  for (const r of rows) {
    const had = out.get(nameOf(r));
    if (!had || (!isOwned(had) && isOwned(r))) out.set(nameOf(r), r);
  }
  return out;
}

/** A peer switch port that still does what Outpost made it for: attach its router port. */
export const isSoundPeer = (p: SwitchPortRow, lrp: string): boolean =>
  p.type === "router" && p.options["router-port"] === lrp && p.addresses.length === 1 && p.addresses[0] === "router";

export function normalize(snap: NbSnapshot): OvnObserved {
  const objects: SiteObject[] = [];
  const owner = (r: { externalIds: Record<string, string> }) => (isOwned(r) ? OUTPOST_OWNER : FOREIGN_OWNER);
  const add = (kind: string, name: string, fields: Record<string, unknown>, o: string) =>
    objects.push({ kind, name, fields: canonicalFields(kind, fields), owner: o });

  const lspByUuid = new Map(snap.switchPorts.map((p) => [p.uuid, p]));
  const lspParent = new Map<string, string>();
  for (const s of snap.switches) for (const p of s.ports) if (!lspParent.has(p)) lspParent.set(p, s.name);
  const ownedLrps = new Set(snap.routerPorts.filter(isOwned).map((p) => p.name));

  for (const [name, s] of pickByName(snap.switches, (r) => r.name)) add("ovn.switch", name, s.otherConfig.subnet !== undefined ? { subnet: s.otherConfig.subnet } : {}, owner(s));

  // Peers of existing owned router ports are part of their router port; an owned peer whose router
  // port is gone is shown as an ordinary owned switch port, so the planner deletes it.
  const peersByLrp = new Map<string, { port: SwitchPortRow; switch: string }[]>();
  for (const p of snap.switchPorts) {
    const sw = lspParent.get(p.uuid);
    if (sw === undefined) continue; // not in any switch: garbage the server is about to collect
    const lrp = peerOf(p);
    if (lrp !== undefined && ownedLrps.has(lrp)) {
      peersByLrp.set(lrp, [...(peersByLrp.get(lrp) ?? []), { port: p, switch: sw }]);
      continue;
    }
    add("ovn.switch-port", p.name, { switch: sw, addresses: p.addresses, portSecurity: p.portSecurity }, owner(p));
  }

  const lrpParent = new Map<string, string>();
  for (const r of snap.routers) for (const p of r.ports) if (!lrpParent.has(p)) lrpParent.set(p, r.name);
  for (const [name, r] of pickByName(snap.routers, (x) => x.name)) add("ovn.router", name, {}, owner(r));
  for (const p of snap.routerPorts) {
    const router = lrpParent.get(p.uuid);
    if (router === undefined) continue;
    add("ovn.router-port", p.name, routerPortFields(p, router, isOwned(p) ? peersByLrp.get(p.name) ?? [] : []), owner(p));
  }

  const aclByUuid = new Map(snap.acls.map((a) => [a.uuid, a]));
  for (const g of snap.portGroups) {
    const ports = g.ports.map((u) => lspByUuid.get(u)?.name).filter((n): n is string => n !== undefined);
    // Only Outpost's ACLs are compared: an operator's ACL in an Outpost group is theirs and stays.
    const acls = g.acls.map((u) => aclByUuid.get(u)).filter((a) => a !== undefined && isOwned(a)) as AclFields[];
    add("ovn.port-group", g.name, { ports, acls }, owner(g));
  }

  for (const [cidr, d] of pickByName(snap.dhcp, (x) => x.cidr)) add("ovn.dhcp", cidr, { cidr, options: d.options }, owner(d));

  const rowCounts: Record<string, number> = {};
  for (const [k, rows] of Object.entries(snap)) rowCounts[k] = (rows as unknown[]).length;
  return { objects, rowCounts };
}

/**
 * A router port's fields. `switch` is the one switch its peer sits in; several peers show as a
 * list and a tampered peer adds `peerDrift`, so neither can equal the desired fields and the
 * next step rewrites the attachment.
 */
function routerPortFields(p: RouterPortRow, router: string, peers: readonly { port: SwitchPortRow; switch: string }[]): Record<string, unknown> {
  const f: Record<string, unknown> = { router, mac: p.mac, networks: p.networks };
  const switches = [...new Set(peers.map((x) => x.switch))].sort();
  if (switches.length === 1 && peers.length === 1) f.switch = switches[0];
  else if (peers.length > 1) f.switch = switches;
  if (peers.some((x) => !isSoundPeer(x.port, p.name))) f.peerDrift = true;
  return f;
}
