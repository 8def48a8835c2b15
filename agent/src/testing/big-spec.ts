import type { SpecInput } from "@outpost/shared";

/**
 * A site spec of about `bytes` of JSON touching LXD, OVN and Ceph: a big site's bundle, for checking
 * that the production agent's V8 flags (deploy/systemd/outpost-agent.service) still converge one.
 */
export function bigSpec(bytes: number): SpecInput {
  const spec = {
    ceph: { pools: [{ name: "big-pool", size: 1 }], rbdImages: [] as { pool: string; name: string; sizeMiB: number }[] },
    ovn: { switches: [] as object[], portGroups: [] as object[] },
    lxd: { profiles: [{ name: "big", config: { "limits.memory": "256MiB", "limits.cpu": "1" } }], instances: [] as object[] },
  };
  for (let i = 0; JSON.stringify(spec).length < bytes; i++) {
    const n = String(i).padStart(4, "0");
    const mac = (p: number) => `00:16:3e:${(i >> 8).toString(16).padStart(2, "0")}:${(i & 255).toString(16).padStart(2, "0")}:0${p}`;
    spec.lxd.instances.push({
      name: `app-${n}`, image: { alias: "debian-12" }, profiles: ["default", "big"],
      config: { "user.role": "pos", "user.store": `store-${n}`, "limits.memory": "128MiB", "boot.autostart": "true" },
      devices: { eth0: { type: "nic", network: "lxdbr0", name: "eth0" } },
    });
    spec.ovn.switches.push({
      name: `ls-${n}`, subnet: `10.${i >> 8}.${i & 255}.0/24`,
      ports: [1, 2].map((p) => ({ name: `ls-${n}-p${p}`, addresses: [`${mac(p)} 10.${i >> 8}.${i & 255}.${10 + p}`], portSecurity: [] })),
    });
    spec.ovn.portGroups.push({
      name: `pg_${n}`, ports: [`ls-${n}-p1`],
      acls: [443, 8443, 9100].map((port, a) => ({ direction: "to-lport", priority: 1000 + a, match: `outport == @pg_${n} && tcp.dst == ${port}`, action: "allow-related" })),
    });
    spec.ceph.rbdImages.push({ pool: "big-pool", name: `disk-${n}`, sizeMiB: 1024 });
  }
  return spec as SpecInput;
}
