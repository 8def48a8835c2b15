import type { CreateReleaseRequest } from "@outpost/shared";

/** A small but complete site spec touching every sim-driven section. */
export function storeRelease(version: string, opts: { instances?: number; image?: string } = {}): CreateReleaseRequest {
  const n = opts.instances ?? 2;
  return {
    name: "store",
    version,
    description: `point-of-sale stack ${version}`,
    spec: {
      ceph: { pools: [{ name: "rbd-store", size: 1, pgAutoscale: "on", application: "rbd" }], rbdImages: [{ pool: "rbd-store", name: "pos-db", sizeMiB: 1024 }] },
      ovn: {
        switches: [{ name: "ls-pos", subnet: "10.10.0.0/24", ports: [{ name: "pos-1", addresses: ["00:00:00:00:01:01 10.10.0.11"], portSecurity: [] }] }],
        routers: [], portGroups: [{ name: "pg_pos", ports: ["pos-1"], acls: [{ direction: "to-lport", priority: 1000, match: "tcp.dst == 443", action: "allow-related" }] }],
        dhcp: [],
      },
      lxd: {
        storagePools: [{ name: "local", driver: "dir", config: {} }],
        networks: [],
        profiles: [{ name: "pos", description: "", config: { "limits.memory": "256MiB" }, devices: {} }],
        instances: Array.from({ length: n }, (_, i) => ({
          name: `pos-${i + 1}`, type: "container" as const, image: { alias: opts.image ?? `pos-${version}` }, profiles: ["default", "pos"],
          config: { "user.release": version }, devices: {}, state: "running" as const,
        })),
      },
      host: { packages: [], securityUpdates: { enabled: false, disruptive: true } },
      agent: { pollIntervalSeconds: 5, healIntervalSeconds: 1, maintenanceWindows: [] },
    },
    artifacts: [],
  };
}
