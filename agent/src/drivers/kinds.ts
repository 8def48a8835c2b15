import type { DriverName } from "./types.ts";

/**
 * The object kinds each driver manages, in dependency order: an object may refer to objects of
 * kinds listed before it (an instance to its profiles, a profile to networks and pools, a port
 * group to switch ports, an RBD image to its pool), never after. Real drivers use the same names.
 */
export const KIND_ORDER: Record<DriverName, readonly string[]> = {
  ceph: ["ceph.pool", "ceph.rbd-image"],
  ovn: ["ovn.switch", "ovn.switch-port", "ovn.router", "ovn.router-port", "ovn.port-group", "ovn.dhcp"],
  lxd: ["lxd.storage-pool", "lxd.network", "lxd.profile", "lxd.instance"],
  host: ["host.package", "host.security-updates"],
};

export function driverOfKind(kind: string): DriverName | null {
  const d = kind.split(".")[0];
  return d === "ceph" || d === "ovn" || d === "lxd" || d === "host" ? d : null;
}
