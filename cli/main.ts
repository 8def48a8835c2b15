import { Command } from "commander";
import { registerCommands } from "./commands/index.ts";

const program = new Command("outpost")
  .description("Outpost: fleet manager for edge clouds (LXD, Ceph, OVN sites behind NAT)")
  .option("--hub <url>", "hub base URL (env OUTPOST_HUB_URL, default http://127.0.0.1:7800)")
  .option("--token <token>", "operator API token or OIDC token (env OUTPOST_TOKEN)")
  .option("--project <name>", "project to act in (env OUTPOST_PROJECT, default 'default')")
  .option("--json", "machine-readable output", false)
  .showHelpAfterError();

// Only the module of the command being run is imported (all of them for help and completion):
// every call starts faster for it.
await registerCommands(program, process.argv.slice(2));

try {
  await program.parseAsync(process.argv);
} catch (e) {
  const { describeError } = await import("./context.ts");
  process.stderr.write(describeError(e) + "\n");
  process.exitCode = 1;
}
