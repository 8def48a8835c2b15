import type { Artifact } from "@outpost/shared";
import type { Logger } from "pino";
import type { ArtifactSource } from "../artifacts/types.ts";
import type { AgentConfig } from "../config.ts";
import type { Store } from "../store/db.ts";
import { SIM_SCHEMA } from "./sim/tables.ts";
import { DRIVER_ORDER, type Driver, type DriverName } from "./types.ts";
import { unavailableDriver } from "./unavailable.ts";

/** Extra tables a driver keeps in the state file, created when the store opens. */
export function driverSchema(config: Pick<AgentConfig, "driver">): string[] {
  switch (config.driver) {
    case "sim": return SIM_SCHEMA;
    case "real": return [];
  }
}

export interface DriverContext {
  /** Where LXD images named in the bundle's artifacts[] come from (the hub, through the local cache). */
  artifacts: ArtifactSource;
  /** The artifacts[] of the bundle being enforced. */
  currentArtifacts: () => readonly Artifact[];
  log: Logger;
}

/**
 * The drivers for config.driver, one per DRIVER_ORDER entry. Each is imported only when this site
 * uses it: an agent on a site without Ceph never loads the Ceph driver, a sim agent no real one.
 */
export async function createDrivers(config: Pick<AgentConfig, "driver" | "sim" | "drivers" | "lxd" | "ovn" | "ceph">, store: Store, ctx: DriverContext): Promise<Driver[]> {
  if (config.driver === "sim") return (await import("./sim/driver.ts")).createSimDrivers(store, config.sim) as Driver[];
  const make: Record<DriverName, () => Promise<Driver>> = {
    lxd: async () => (await import("./lxd/driver.ts")).createLxdDriver({
      socketPath: config.lxd.socket, stopTimeoutSeconds: config.lxd.stopTimeoutSeconds,
      artifacts: ctx.artifacts, currentArtifacts: ctx.currentArtifacts, log: ctx.log.child({ driver: "lxd" }),
    }) as Driver,
    // loadConfig guarantees remote/conf when the driver is enabled.
    ovn: async () => (await import("./ovn/driver.ts")).createOvnDriver({ remote: config.ovn.remote!, log: ctx.log.child({ driver: "ovn" }) }) as Driver,
    ceph: async () => (await import("./ceph/driver.ts")).createCephDriver({ conf: config.ceph.conf!, ...(config.ceph.keyring ? { keyring: config.ceph.keyring } : {}), log: ctx.log.child({ driver: "ceph" }) }) as Driver,
    host: async () => (await import("./host/driver.ts")).createHostDriver({ log: ctx.log.child({ driver: "host" }) }) as Driver,
  };
  return Promise.all(DRIVER_ORDER.map((name) => config.drivers.includes(name)
    ? make[name]()
    : unavailableDriver(name, `this site's agent does not manage ${name} (add it to the agent config's drivers, OUTPOST_DRIVERS)`)));
}
