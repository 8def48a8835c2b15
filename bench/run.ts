import { benchVerify } from "./verify.ts";

const benches: Record<string, (args: string[]) => Promise<void>> = {
  verify: benchVerify,
  poll: async (args) => (await import("./poll.ts")).benchPoll(args),
  rollout: async (args) => (await import("./rollout.ts")).benchRollout(args),
  reconcile: async (args) => (await import("./reconcile.ts")).benchReconcile(args),
  notify: async (args) => (await import("./notify.ts")).benchNotify(args),
  fleet: async (args) => (await import("./fleet.ts")).benchFleet(args),
  ingest: async (args) => (await import("./ingest.ts")).benchIngest(args),
  agent: async (args) => (await import("./agent-idle.ts")).benchAgentIdle(args),
};

const [name, ...args] = process.argv.slice(2);
const run = name ? benches[name] : undefined;
if (!run) {
  console.error(`usage: pnpm bench <${Object.keys(benches).join("|")}> [--seconds N]`);
  process.exit(2);
}
await run(args);
