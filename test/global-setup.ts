import { existsSync } from "node:fs";
import { ensureLxd, shutdownLxd } from "./daemons/lxd.ts";

/**
 * LXD is one daemon for the whole machine (/var/lib/lxd), while test files run in parallel: its
 * lifetime belongs to the run, not to any one file. Start it here when it is installed (a file that
 * needs it and finds it missing fails loudly on its own), and stop it at the end only if this run
 * started it.
 */
export default async function setup(): Promise<() => Promise<void>> {
  const installed = ["/usr/bin/lxd", "/usr/sbin/lxd"].some((p) => existsSync(p));
  if (!installed) return async () => {};
  const lxd = await ensureLxd();
  return async () => {
    if (lxd.startedHere) await shutdownLxd({ ifIdle: true });
  };
}
