/**
 * One step as ONE OVSDB transaction against the Northbound database, built from a fresh snapshot.
 * Pure: apply.ts reads the snapshot and sends the operations.
 *
 * - Idempotent: create and update both mean "make this object look like `after`" (a create whose
 *   row already exists, ours, becomes an update; a delete of something already gone does nothing),
 *   so a step retried after a lost answer or a crash converges instead of failing.
 * - Atomic: a port and its place in its switch's `ports`, a port group and its ACLs, a router port
 *   and its peer switch port are written together; a crash leaves all of it or none.
 * - Strong references (RFC 7047 §3.2): switch ports, router ports and ACLs live in non-root tables
 *   and are garbage-collected unless a switch, router or port group references them, so every
 *   insert there is paired with the mutate that references it (by named-uuid), and a removal from
 *   the parent's set is what deletes them.
 * - Ownership: only rows with external_ids:outpost-owned=true are changed or deleted. A name held
 *   by someone else's row fails the step (NameTakenError) instead of taking that row over; the
 *   `wait` guards make the same checks atomic against a concurrent ovn-nbctl.
 */
import type { Step } from "../types.ts";
import { map, namedUuid, set, uuid, uuidSet, type Json } from "./datum.ts";
import { isOwned, ownedMark, peerOf, PEER_OF_KEY, type NbSnapshot, type SwitchPortRow } from "./nb.ts";
import { aclKey, canonicalAcls, type AclFields } from "./normalize.ts";
import type { Operation } from "./ovsdb.ts";

export class NameTakenError extends Error {
  constructor(readonly kind: string, readonly objectName: string, detail = "") {
    super(`${kind} ${JSON.stringify(objectName)}: name taken by an object Outpost does not own (no external_ids:outpost-owned=true); Outpost does not take it over${detail}`);
    this.name = "NameTakenError";
  }
}

/** The step cannot be carried out as the world stands (a missing or foreign dependency, foreign contents). */
export class OvnRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "OvnRefusedError";
  }
}

export interface Txn {
  ops: Operation[];
  /** Per operation: what its failure means, for `wait` guards whose own error is only "timed out". */
  why: (string | undefined)[];
}

const T = { ls: "Logical_Switch", lsp: "Logical_Switch_Port", lr: "Logical_Router", lrp: "Logical_Router_Port", pg: "Port_Group", acl: "ACL", dhcp: "DHCP_Options" } as const;
const byUuid = (u: string): Json[] => [["_uuid", "==", uuid(u)]];
const CHANGED = "the Northbound database changed while the step was applied (a row it relies on was removed); it will be planned again";

interface Parent { uuid: string; name: string; externalIds: Record<string, string>; ports: string[] }

function ownedParent(table: string, p: Parent): void {
  if (!isOwned(p)) throw new OvnRefusedError(`${table} ${JSON.stringify(p.name)} is not owned by Outpost, yet holds or would hold an Outpost object; Outpost does not change it (move the object out of it by hand)`);
}

class Builder {
  readonly ops: Operation[] = [];
  readonly why: (string | undefined)[] = [];
  add(op: Operation, why?: string): this {
    this.ops.push(op);
    this.why.push(why);
    return this;
  }
  /** Aborts the transaction unless the row still exists (else a mutate would silently match nothing). */
  exists(table: string, u: string): this {
    return this.add({ op: "wait", timeout: 0, table, where: byUuid(u), columns: ["_uuid"], until: "==", rows: [{ _uuid: uuid(u) }] }, CHANGED);
  }
  /** Aborts the transaction if any row has this name (tables without a unique index on it). */
  nameFree(table: string, column: string, value: string, why: string): this {
    return this.add({ op: "wait", timeout: 0, table, where: [[column, "==", value]], columns: [column], until: "==", rows: [] }, why);
  }
  /** Adds members to a set column of `parent`, which must be Outpost's (a foreign row is never written). */
  setInsert(table: string, parent: Parent, column: string, members: Json[]): this {
    ownedParent(table, parent);
    return members.length ? this.add({ op: "mutate", table, where: byUuid(parent.uuid), mutations: [[column, "insert", set(members)]] }) : this;
  }
  setDelete(table: string, parent: Parent, column: string, members: string[]): this {
    ownedParent(table, parent);
    return members.length ? this.add({ op: "mutate", table, where: byUuid(parent.uuid), mutations: [[column, "delete", uuidSet(members)]] }) : this;
  }
  deleteRow(table: string, u: string): this {
    return this.add({ op: "delete", table, where: byUuid(u) });
  }
  done(): Txn {
    return { ops: this.ops, why: this.why };
  }
}

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : []);
const stringMap = (v: unknown): Record<string, string> =>
  v && typeof v === "object" && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).filter((e): e is [string, string] => typeof e[1] === "string")) : {};

function ownedByName<T extends { externalIds: Record<string, string> }>(kind: string, rows: readonly T[], what: string, name: string): T {
  const mine = rows.find(isOwned);
  if (mine) return mine;
  if (rows.length) throw new OvnRefusedError(`${kind}: ${what} ${JSON.stringify(name)} is not owned by Outpost; Outpost does not change it`);
  throw new OvnRefusedError(`${kind}: ${what} ${JSON.stringify(name)} does not exist`);
}

/** The transaction for one step, against `snap` read just before. Throws when the step must not or cannot be done. */
export function buildTransaction(step: Step, snap: NbSnapshot): Txn {
  const f = (step.after ?? {}) as Record<string, unknown>;
  const del = step.action === "delete";
  switch (step.kind) {
    case "ovn.switch": return del ? deleteSwitch(step.name, snap) : ensureSwitch(step.name, f, snap);
    case "ovn.switch-port": return del ? deleteSwitchPort(step.name, snap) : ensureSwitchPort(step.name, f, snap);
    case "ovn.router": return del ? deleteRouter(step.name, snap) : ensureRouter(step.name, snap);
    case "ovn.router-port": return del ? deleteRouterPort(step.name, snap) : ensureRouterPort(step.name, f, snap);
    case "ovn.port-group": return del ? deletePortGroup(step.name, snap) : ensurePortGroup(step.name, f, snap);
    case "ovn.dhcp": return del ? deleteDhcp(step.name, snap) : ensureDhcp(step.name, f, snap);
    default: throw new OvnRefusedError(`the OVN driver does not manage objects of kind ${step.kind}`);
  }
}

// --- switches --------------------------------------------------------------------------------

function ensureSwitch(name: string, f: Record<string, unknown>, snap: NbSnapshot): Txn {
  const rows = snap.switches.filter((s) => s.name === name);
  const mine = rows.find(isOwned);
  const subnet: Record<string, string> = typeof f.subnet === "string" ? { subnet: f.subnet } : {};
  const b = new Builder();
  if (!mine) {
    if (rows.length) throw new NameTakenError("ovn.switch", name);
    return b.nameFree(T.ls, "name", name, new NameTakenError("ovn.switch", name, " (created meanwhile)").message)
      .add({ op: "insert", table: T.ls, row: { name, other_config: map(subnet), external_ids: map(ownedMark) } }).done();
  }
  // Only the subnet key is Outpost's: other other_config keys (set by an operator) stay.
  const mutations: Json[] = [["other_config", "delete", set(["subnet"])]];
  if (subnet.subnet !== undefined) mutations.push(["other_config", "insert", map(subnet)]);
  return b.exists(T.ls, mine.uuid).add({ op: "mutate", table: T.ls, where: byUuid(mine.uuid), mutations }).done();
}

function deleteSwitch(name: string, snap: NbSnapshot): Txn {
  const b = new Builder();
  const lsp = new Map(snap.switchPorts.map((p) => [p.uuid, p]));
  const acl = new Map(snap.acls.map((a) => [a.uuid, a]));
  for (const s of snap.switches.filter((x) => x.name === name && isOwned(x))) {
    // Deleting a switch garbage-collects every port and ACL in it: refuse while some are not ours.
    const theirs = [...s.ports.map((u) => lsp.get(u)).filter((p) => p && !isOwned(p)).map((p) => `port ${p!.name}`),
      ...s.acls.map((u) => acl.get(u)).filter((a) => a && !isOwned(a)).map((a) => `ACL "${a!.match}"`)];
    if (theirs.length) throw new OvnRefusedError(`ovn.switch ${JSON.stringify(name)}: not deleted, it holds objects Outpost does not own (${theirs.join(", ")}); move or remove them first`);
    b.deleteRow(T.ls, s.uuid);
  }
  return b.done();
}

// --- switch ports ----------------------------------------------------------------------------

const parentsOf = <P extends { uuid: string; ports: string[] }>(parents: readonly P[], child: string) => parents.filter((p) => p.ports.includes(child));

function ensureSwitchPort(name: string, f: Record<string, unknown>, snap: NbSnapshot): Txn {
  const lsp = snap.switchPorts.find((p) => p.name === name);
  if (lsp && !isOwned(lsp)) throw new NameTakenError("ovn.switch-port", name);
  const peer = lsp && peerOf(lsp);
  if (peer !== undefined) throw new OvnRefusedError(`ovn.switch-port ${JSON.stringify(name)}: the name is used by the switch port attaching router port ${JSON.stringify(peer)}`);
  const swName = String(f.switch);
  const sw = ownedByName("ovn.switch-port " + JSON.stringify(name), snap.switches.filter((s) => s.name === swName), "switch", swName);
  const row = { addresses: set(strings(f.addresses)), port_security: set(strings(f.portSecurity)) };
  const b = new Builder().exists(T.ls, sw.uuid);
  if (!lsp) {
    // Logical_Switch_Port has a unique index on name: the server refuses a concurrent duplicate.
    return b.add({ op: "insert", table: T.lsp, "uuid-name": "lsp", row: { name, ...row, external_ids: map(ownedMark) } })
      .setInsert(T.ls, sw, "ports", [namedUuid("lsp")]).done();
  }
  b.exists(T.lsp, lsp.uuid).add({ op: "update", table: T.lsp, where: byUuid(lsp.uuid), row });
  moveChild(b, T.ls, snap.switches, lsp.uuid, sw);
  return b.done();
}

/** Puts `child` into `to`'s ports and out of any other parent's, in the same transaction. */
function moveChild(b: Builder, table: string, parents: readonly Parent[], child: string, to: Parent): void {
  const now = parentsOf(parents, child);
  if (!now.some((p) => p.uuid === to.uuid)) b.setInsert(table, to, "ports", [uuid(child)]);
  for (const p of now) if (p.uuid !== to.uuid) b.setDelete(table, p, "ports", [child]);
}

/** Takes `port` out of every switch (which is what deletes a non-root row) and deletes it. */
function removeSwitchPort(b: Builder, snap: NbSnapshot, port: SwitchPortRow): void {
  for (const s of parentsOf(snap.switches, port.uuid)) b.setDelete(T.ls, s, "ports", [port.uuid]);
  b.deleteRow(T.lsp, port.uuid);
}

function deleteSwitchPort(name: string, snap: NbSnapshot): Txn {
  const b = new Builder();
  const lsp = snap.switchPorts.find((p) => p.name === name);
  if (!lsp || !isOwned(lsp)) return b.done();
  // An orphaned router peer may have been re-adopted by its router port since the plan: keep it.
  const lrp = peerOf(lsp);
  if (lrp !== undefined && snap.routerPorts.some((r) => r.name === lrp && isOwned(r))) return b.done();
  removeSwitchPort(b, snap, lsp);
  return b.done();
}

// --- routers ---------------------------------------------------------------------------------

function ensureRouter(name: string, snap: NbSnapshot): Txn {
  const rows = snap.routers.filter((r) => r.name === name);
  const b = new Builder();
  if (rows.some(isOwned)) return b.done(); // a router has no fields of its own to converge
  if (rows.length) throw new NameTakenError("ovn.router", name);
  return b.nameFree(T.lr, "name", name, new NameTakenError("ovn.router", name, " (created meanwhile)").message)
    .add({ op: "insert", table: T.lr, row: { name, external_ids: map(ownedMark) } }).done();
}

function deleteRouter(name: string, snap: NbSnapshot): Txn {
  const b = new Builder();
  const lrps = new Map(snap.routerPorts.map((p) => [p.uuid, p]));
  for (const r of snap.routers.filter((x) => x.name === name && isOwned(x))) {
    const ports = r.ports.map((u) => lrps.get(u)).filter((p) => p !== undefined);
    const theirs = ports.filter((p) => !isOwned(p)).map((p) => p.name);
    if (theirs.length) throw new OvnRefusedError(`ovn.router ${JSON.stringify(name)}: not deleted, it holds router ports Outpost does not own (${theirs.join(", ")}); move or remove them first`);
    // Its router ports go with it (garbage-collected); their peer switch ports must go too.
    for (const p of ports) for (const peer of snap.switchPorts.filter((x) => peerOf(x) === p.name)) removeSwitchPort(b, snap, peer);
    b.deleteRow(T.lr, r.uuid);
  }
  return b.done();
}

// --- router ports ----------------------------------------------------------------------------

export const peerPortName = (routerPort: string): string => `${routerPort}-peer`;

function ensureRouterPort(name: string, f: Record<string, unknown>, snap: NbSnapshot): Txn {
  const lrp = snap.routerPorts.find((p) => p.name === name);
  if (lrp && !isOwned(lrp)) throw new NameTakenError("ovn.router-port", name);
  const what = `ovn.router-port ${JSON.stringify(name)}`;
  const routerName = String(f.router);
  const r = ownedByName(what, snap.routers.filter((x) => x.name === routerName), "router", routerName);
  const swName = typeof f.switch === "string" ? f.switch : undefined;
  const sw = swName === undefined ? undefined : ownedByName(what, snap.switches.filter((s) => s.name === swName), "switch", swName);
  const row = { mac: String(f.mac), networks: set(strings(f.networks)) };

  const b = new Builder().exists(T.lr, r.uuid);
  if (!lrp) {
    b.add({ op: "insert", table: T.lrp, "uuid-name": "lrp", row: { name, ...row, external_ids: map(ownedMark) } })
      .setInsert(T.lr, r, "ports", [namedUuid("lrp")]);
  } else {
    b.exists(T.lrp, lrp.uuid).add({ op: "update", table: T.lrp, where: byUuid(lrp.uuid), row });
    moveChild(b, T.lr, snap.routers, lrp.uuid, r);
  }

  // The attachment: one switch port of type "router" pointing at this router port, in `sw`.
  const peers = snap.switchPorts.filter((p) => peerOf(p) === name);
  const inSw = (p: SwitchPortRow) => sw !== undefined && parentsOf(snap.switches, p.uuid).some((s) => s.uuid === sw.uuid);
  const keep = sw ? peers.find(inSw) ?? peers[0] : undefined;
  const peerRow = { type: "router", addresses: set(["router"]), options: map({ "router-port": name }) };
  if (sw && !keep) {
    const peerName = peerPortName(name);
    if (snap.switchPorts.some((p) => p.name === peerName)) {
      throw new OvnRefusedError(`${what}: cannot attach it to switch ${JSON.stringify(sw.name)}, the switch port name ${JSON.stringify(peerName)} it needs is already in use`);
    }
    b.exists(T.ls, sw.uuid)
      .add({ op: "insert", table: T.lsp, "uuid-name": "peer", row: { name: peerName, ...peerRow, external_ids: map({ ...ownedMark, [PEER_OF_KEY]: name }) } })
      .setInsert(T.ls, sw, "ports", [namedUuid("peer")]);
  } else if (sw && keep) {
    b.exists(T.ls, sw.uuid).exists(T.lsp, keep.uuid).add({ op: "update", table: T.lsp, where: byUuid(keep.uuid), row: peerRow });
    moveChild(b, T.ls, snap.switches, keep.uuid, sw);
  }
  for (const p of peers) if (p !== keep) removeSwitchPort(b, snap, p);
  return b.done();
}

function deleteRouterPort(name: string, snap: NbSnapshot): Txn {
  const b = new Builder();
  const lrp = snap.routerPorts.find((p) => p.name === name);
  if (lrp && isOwned(lrp)) {
    for (const r of parentsOf(snap.routers, lrp.uuid)) b.setDelete(T.lr, r, "ports", [lrp.uuid]);
    b.deleteRow(T.lrp, lrp.uuid);
  }
  if (!lrp || isOwned(lrp)) for (const p of snap.switchPorts.filter((x) => peerOf(x) === name)) removeSwitchPort(b, snap, p);
  return b.done();
}

// --- port groups and their ACLs --------------------------------------------------------------

function ensurePortGroup(name: string, f: Record<string, unknown>, snap: NbSnapshot): Txn {
  const pg = snap.portGroups.find((g) => g.name === name);
  if (pg && !isOwned(pg)) throw new NameTakenError("ovn.port-group", name);
  const ports = strings(f.ports).map((n) => {
    const p = snap.switchPorts.find((x) => x.name === n);
    if (!p) throw new OvnRefusedError(`ovn.port-group ${JSON.stringify(name)}: it names switch port ${JSON.stringify(n)}, which does not exist`);
    return p.uuid;
  });
  const want = canonicalAcls(Array.isArray(f.acls) ? (f.acls as AclFields[]) : []);
  const b = new Builder();
  const aclRow = (a: AclFields) => ({ direction: a.direction, priority: a.priority, match: a.match, action: a.action, external_ids: map(ownedMark) });

  if (!pg) {
    // Port_Group has a unique index on name; the ACLs are referenced by the group in the same transaction.
    want.forEach((a, i) => b.add({ op: "insert", table: T.acl, "uuid-name": `acl${i}`, row: aclRow(a) }));
    return b.add({ op: "insert", table: T.pg, row: { name, ports: uuidSet(ports), acls: set(want.map((_, i) => namedUuid(`acl${i}`))), external_ids: map(ownedMark) } }).done();
  }

  const aclByUuid = new Map(snap.acls.map((a) => [a.uuid, a]));
  const have = new Map<string, string>();
  const drop: string[] = [];
  const wanted = new Set(want.map(aclKey));
  for (const u of pg.acls) {
    const a = aclByUuid.get(u);
    if (!a || !isOwned(a)) continue; // an operator's ACL in our group stays
    const k = aclKey(a);
    if (!wanted.has(k) || have.has(k)) drop.push(u);
    else have.set(k, u);
  }
  const add = want.filter((a) => !have.has(aclKey(a)));
  b.exists(T.pg, pg.uuid).add({ op: "update", table: T.pg, where: byUuid(pg.uuid), row: { ports: uuidSet(ports) } });
  add.forEach((a, i) => b.add({ op: "insert", table: T.acl, "uuid-name": `acl${i}`, row: aclRow(a) }));
  b.setInsert(T.pg, pg, "acls", add.map((_, i) => namedUuid(`acl${i}`)));
  b.setDelete(T.pg, pg, "acls", drop);
  for (const u of drop) b.deleteRow(T.acl, u);
  return b.done();
}

function deletePortGroup(name: string, snap: NbSnapshot): Txn {
  const b = new Builder();
  const pg = snap.portGroups.find((g) => g.name === name);
  if (!pg || !isOwned(pg)) return b.done();
  const acls = pg.acls.map((u) => snap.acls.find((a) => a.uuid === u)).filter((a) => a !== undefined);
  const theirs = acls.filter((a) => !isOwned(a));
  if (theirs.length) {
    throw new OvnRefusedError(`ovn.port-group ${JSON.stringify(name)}: not deleted, it holds ACLs Outpost does not own (${theirs.map((a) => JSON.stringify(a.match)).join(", ")}); remove them first`);
  }
  b.deleteRow(T.pg, pg.uuid);
  for (const a of acls) b.deleteRow(T.acl, a.uuid);
  return b.done();
}

// --- DHCP options ----------------------------------------------------------------------------

function ensureDhcp(cidr: string, f: Record<string, unknown>, snap: NbSnapshot): Txn {
  const rows = snap.dhcp.filter((d) => d.cidr === cidr);
  const mine = rows.find(isOwned);
  const options = map(stringMap(f.options));
  const b = new Builder();
  if (!mine) {
    if (rows.length) throw new NameTakenError("ovn.dhcp", cidr);
    return b.nameFree(T.dhcp, "cidr", cidr, new NameTakenError("ovn.dhcp", cidr, " (created meanwhile)").message)
      .add({ op: "insert", table: T.dhcp, row: { cidr, options, external_ids: map(ownedMark) } }).done();
  }
  return b.exists(T.dhcp, mine.uuid).add({ op: "update", table: T.dhcp, where: byUuid(mine.uuid), row: { options } }).done();
}

function deleteDhcp(cidr: string, snap: NbSnapshot): Txn {
  const b = new Builder();
  for (const d of snap.dhcp.filter((x) => x.cidr === cidr && isOwned(x))) b.deleteRow(T.dhcp, d.uuid);
  return b.done();
}
