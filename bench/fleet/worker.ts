import { readFileSync } from "node:fs";
import { readAgentStatus, type AgentConfigInput } from "@outpost/agent";
import { SimFleet } from "../../test/lib/sim-fleet.ts";
import type { FromWorker, ToWorker, WorkerConfig } from "./protocol.ts";

/**
 * One process of the fleet simulator: `count` real agents (the agent's own sync, trust, outbox and
 * reconciler code, sim driver), each with its own key, identity and state file, driven by the
 * parent over the IPC channel (protocol.ts).
 */
const send = (m: FromWorker) => process.send!(m);
const hz = 100; // USER_HZ
const cpuS = () => { const f = readFileSync("/proc/self/stat", "utf8").split(") ")[1]!.split(" "); return (Number(f[11]) + Number(f[12])) / hz; };
const memKiB = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(readFileSync("/proc/self/status", "utf8"))![1]);

/** Per site, when it first accepted each version (ms since the epoch). */
const accepted = new Map<string, Map<number, number>>();
let fleet: SimFleet;
let names: string[] = [];

async function startAll(batch: number): Promise<void> {
  for (let i = 0; i < names.length; i += batch) {
    await Promise.all(names.slice(i, i + batch).map((n) => fleet.start(n)));
    send({ type: "progress", started: Math.min(i + batch, names.length) });
  }
}

process.on("message", (m: ToWorker) => {
  void (async () => {
    try {
      switch (m.cmd) {
        case "init": {
          const c: WorkerConfig = m.config;
          names = Array.from({ length: c.count }, (_, i) => `${c.prefix}${String(c.from + i).padStart(5, "0")}`);
          fleet = new SimFleet(() => c.hubUrl, {
            dir: c.dir, agent: c.agent,
            onAccepted: (site, version) => {
              let m = accepted.get(site);
              if (!m) accepted.set(site, (m = new Map()));
              if (!m.has(version)) m.set(version, Date.now());
            },
          });
          const regions = ["eu", "us", "ap"];
          // Enrolment goes in waves of `batch`: the hub sees a realistic stream, not 1,000 requests at once.
          for (let i = 0; i < names.length; i += c.batch) {
            await fleet.add(names.slice(i, i + c.batch).map((name, j) => ({ name, labels: { region: regions[(c.from + i + j) % 3]! } })), c.token, c.batch);
            send({ type: "progress", started: Math.min(i + c.batch, names.length) });
          }
          // An agent whose first enrolment attempt failed (a hub too busy to answer in time) runs and
          // retries on its own; the fleet is ready when every site is enrolled and approved. One state
          // file at a time, every 2 s: each look opens the file (descriptors the agents need too).
          let waiting = [...names];
          while (waiting.length) {
            const still: string[] = [];
            for (const n of waiting) if ((await readAgentStatus(fleet.stateDir(n)).catch(() => null))?.enrollment !== "approved") still.push(n);
            waiting = still;
            send({ type: "progress", started: names.length, approved: names.length - waiting.length });
            if (waiting.length) await new Promise((r) => setTimeout(r, 2000));
          }
          return send({ type: "reply", id: m.id, result: { started: names.length } });
        }
        case "stats":
          return send({ type: "reply", id: m.id, result: { cpuS: cpuS(), rssKiB: memKiB("VmRSS"), hwmKiB: memKiB("VmHWM"), running: names.filter((n) => fleet.isRunning(n)).length } });
        case "accepted": {
          // For each site: when it first held `version` or later (null: not yet).
          const times = names.map((n) => {
            let best: number | null = null;
            for (const [v, at] of accepted.get(n) ?? []) if (v >= m.version && (best === null || at < best)) best = at;
            return best;
          });
          return send({ type: "reply", id: m.id, result: { times } });
        }
        case "restart": {
          await Promise.all(names.map((n) => fleet.stop(n)));
          for (const n of names) fleet.reconfigure(n, m.agent as Partial<AgentConfigInput>);
          await startAll(m.batch);
          return send({ type: "reply", id: m.id, result: { started: names.length } });
        }
        case "close":
          await fleet?.close({ remove: false });
          send({ type: "reply", id: m.id, result: {} });
          return process.exit(0);
      }
    } catch (e) {
      send({ type: "reply", id: m.id, error: (e as Error).stack ?? String(e) });
    }
  })();
});
process.on("disconnect", () => { void fleet?.close({ remove: false }).finally(() => process.exit(0)); });
send({ type: "hello" });
