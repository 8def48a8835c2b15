import type { AgentConfig } from "../config.ts";
import type { Store } from "../store/db.ts";
import { createSimDrivers } from "./sim/driver.ts";
import { SIM_SCHEMA } from "./sim/tables.ts";
import type { Driver } from "./types.ts";

/** Extra tables a driver keeps in the state file, created when the store opens. */
export function driverSchema(config: Pick<AgentConfig, "driver">): string[] {
  switch (config.driver) {
    case "sim": return SIM_SCHEMA;
  }
}

/** The drivers for config.driver, in DRIVER_ORDER. Real drivers (lxd, ovn, ceph, host) slot in here. */
export function createDrivers(config: Pick<AgentConfig, "driver" | "sim">, store: Store): Driver[] {
  switch (config.driver) {
    case "sim": return createSimDrivers(store, config.sim) as Driver[];
  }
}
