import { Command } from "commander";
import { registerCommands } from "./commands/index.ts";

/**
 * The `outpost` command tree, without running anything (main.ts parses argv with it; tests inspect
 * it). With `args`, only the module of the command they name is imported (all of them for help,
 * completion and typos): every call starts faster for it. Without, the whole tree.
 */
export async function buildProgram(args: readonly string[] = []): Promise<Command> {
  const program = new Command("outpost")
    .description("Outpost: fleet manager for edge clouds (LXD, Ceph, OVN sites behind NAT)")
    .option("--hub <url>", "hub base URL (env OUTPOST_HUB_URL, default http://127.0.0.1:7800)")
    .option("--token <token>", "operator API token or OIDC token (env OUTPOST_TOKEN)")
    .option("--project <name>", "project to act in (env OUTPOST_PROJECT, default 'default')")
    .option("--json", "machine-readable output", false)
    .showHelpAfterError();
  await registerCommands(program, args);
  return program;
}
