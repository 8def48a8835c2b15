import type { Spec } from "@outpost/shared";
import type { DriverName } from "../types.ts";

/**
 * The bundle spec flattened into the objects a site holds, one per (kind, name), each with the
 * fields a driver observes. Every driver (the simulation and the real ones) normalises what it
 * observes into the same shape, so one pure planner serves them all. Pure.
 */
export interface SiteObject {
  kind: string;
  name: string;
  fields: Record<string, unknown>;
  /** Who owns the object; anything other than "outpost" is never touched (see plan.ts). */
  owner?: string;
}

export interface DesiredObject extends SiteObject { disruptive?: boolean }

export interface ObservedObjects { objects: SiteObject[] }

/** The simulation stores exactly this shape. */
export type SimObject = SiteObject;
export type SimObserved = ObservedObjects;

export const OUTPOST_OWNER = "outpost";

/** JSON round trip: drops `undefined` members so desired fields compare equal to stored ones. */
const plain = (o: Record<string, unknown>) => JSON.parse(JSON.stringify(o)) as Record<string, unknown>;

function all(spec: Spec): DesiredObject[] {
  const out: DesiredObject[] = [];
  const add = (kind: string, name: string, fields: Record<string, unknown>, disruptive?: boolean) =>
    out.push({ kind, name, fields: plain(fields), ...(disruptive ? { disruptive } : {}) });

  for (const p of spec.ceph.pools) add("ceph.pool", p.name, { size: p.size, pgAutoscale: p.pgAutoscale, application: p.application });
  // RBD image names are only unique within their pool: "pool/image", as the rbd CLI writes them.
  for (const i of spec.ceph.rbdImages) add("ceph.rbd-image", `${i.pool}/${i.name}`, { pool: i.pool, image: i.name, sizeMiB: i.sizeMiB });

  for (const s of spec.ovn.switches) {
    add("ovn.switch", s.name, { subnet: s.subnet });
    for (const p of s.ports) add("ovn.switch-port", p.name, { switch: s.name, addresses: p.addresses, portSecurity: p.portSecurity });
  }
  for (const r of spec.ovn.routers) {
    add("ovn.router", r.name, {});
    for (const p of r.ports) add("ovn.router-port", p.name, { router: r.name, mac: p.mac, networks: p.networks, switch: p.switch });
  }
  for (const g of spec.ovn.portGroups) add("ovn.port-group", g.name, { ports: g.ports, acls: g.acls });
  for (const d of spec.ovn.dhcp) add("ovn.dhcp", d.cidr, { cidr: d.cidr, options: d.options });

  for (const p of spec.lxd.storagePools) add("lxd.storage-pool", p.name, { driver: p.driver, config: p.config });
  for (const n of spec.lxd.networks) add("lxd.network", n.name, { type: n.type, config: n.config });
  for (const p of spec.lxd.profiles) add("lxd.profile", p.name, { description: p.description, config: p.config, devices: p.devices });
  for (const i of spec.lxd.instances) {
    add("lxd.instance", i.name, { type: i.type, image: i.image, profiles: i.profiles, config: i.config, devices: i.devices, state: i.state });
  }

  for (const p of spec.host.packages) add("host.package", p.name, { version: p.version }, p.disruptive);
  // Present only when enabled: "security updates off" is the absence of the unattended-upgrades setup.
  if (spec.host.securityUpdates.enabled) add("host.security-updates", "unattended-upgrades", { enabled: true }, spec.host.securityUpdates.disruptive);
  return out;
}

/** The objects `driver` should hold for `spec`. A (kind, name) listed twice keeps its first entry. */
export function desiredObjects(spec: Spec, driver: DriverName): DesiredObject[] {
  const seen = new Set<string>();
  return all(spec).filter((o) => {
    if (!o.kind.startsWith(`${driver}.`)) return false;
    const key = `${o.kind}\u0000${o.name}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
