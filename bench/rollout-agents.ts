import { SimFleet } from "../test/lib/sim-fleet.ts";

/**
 * A bench child: runs `count` real sim agents (site bench-<from>..) in this one process against
 * the hub, prints READY once every one has enrolled and started, and stops them on SIGTERM.
 * Settings are a production-like cadence: 55 s long-polls, reports when something changes (and
 * every 5 min), heal every 5 min. Each agent holds a few file descriptors (state file, WAL, shared
 * memory, sockets): about 1,000 agents per process stays well inside a 20,000 descriptor limit.
 */
const [hubUrl, token, fromS, countS, dir] = process.argv.slice(2);
const from = Number(fromS), count = Number(countS);
const fleet = new SimFleet(() => hubUrl!, {
  dir,
  agent: { longPollSeconds: 55, reportIntervalSeconds: 300, healIntervalSeconds: 300, backoffBaseMs: 500, backoffCapMs: 10_000, logLevel: "silent" },
});
const regions = ["eu", "us", "ap"];
const sites = Array.from({ length: count }, (_, i) => ({ name: `bench-${String(from + i).padStart(5, "0")}`, labels: { region: regions[(from + i) % 3]! } }));
for (let i = 0; i < sites.length; i += 250) {
  await fleet.add(sites.slice(i, i + 250), token!, 125);
  process.stdout.write(`STARTED ${Math.min(i + 250, sites.length)}\n`);
}
process.stdout.write(`READY ${count}\n`);
process.once("SIGTERM", () => { void fleet.close({ remove: false }).then(() => process.exit(0)); });
