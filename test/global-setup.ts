import { existsSync } from "node:fs";
import { buildAgent } from "../build.ts";
import { ensureLxd, shutdownLxd } from "./daemons/lxd.ts";
import { writeFaultReport } from "./faults/report.ts";

/**
 * LXD is one daemon for the whole machine (/var/lib/lxd), while test files run in parallel: its
 * lifetime belongs to the run, not to any one file. Start it here when it is installed (a file that
 * needs it and finds it missing fails loudly on its own), and stop it at the end only if this run
 * started it. At the end, the fault suite's cases of this run are folded into test/faults/REPORT.md.
 * The production agent bundle (`pnpm build`, bin/outpost-agent.js) is built first, from the sources
 * as they are, so no test ever runs a stale one.
 */
export default async function setup(): Promise<() => Promise<void>> {
  await buildAgent();
  const installed = ["/usr/bin/lxd", "/usr/sbin/lxd"].some((p) => existsSync(p));
  const lxd = installed ? await ensureLxd() : null;
  return async () => {
    const report = writeFaultReport();
    if (report.updated) console.log(`test/faults/REPORT.md: ${report.updated} case(s) from this run, ${report.cases} in all`);
    if (lxd?.startedHere) await shutdownLxd({ ifIdle: true });
  };
}
