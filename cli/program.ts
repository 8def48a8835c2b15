import { Command } from "commander";
import { agentCommands } from "./commands/agent.ts";
import { airgapCommands } from "./commands/airgap.ts";
import { artifactCommands } from "./commands/artifact.ts";
import { completionCommand } from "./commands/completion.ts";
import { demoCommand } from "./commands/demo.ts";
import { hubCommands } from "./commands/hub.ts";
import { operatorCommands } from "./commands/operator.ts";
import { projectCommands } from "./commands/projects.ts";
import { rolloutCommands } from "./commands/rollout.ts";
import { userCommands } from "./commands/users.ts";

/** The whole `outpost` command tree, without running anything (main.ts parses argv with it; tests inspect it). */
export function buildProgram(): Command {
  const program = new Command("outpost")
    .description("Outpost: fleet manager for edge clouds (LXD, Ceph, OVN sites behind NAT)")
    .option("--hub <url>", "hub base URL (env OUTPOST_HUB_URL, default http://127.0.0.1:7800)")
    .option("--token <token>", "operator API token or OIDC token (env OUTPOST_TOKEN)")
    .option("--project <name>", "project to act in (env OUTPOST_PROJECT, default 'default')")
    .option("--json", "machine-readable output", false)
    .showHelpAfterError();

  hubCommands(program);
  agentCommands(program);
  operatorCommands(program);
  rolloutCommands(program);
  artifactCommands(program);
  airgapCommands(program);
  demoCommand(program);
  projectCommands(program);
  userCommands(program);
  completionCommand(program);
  return program;
}
