import type { Command } from "commander";
import type { AgentStatus } from "@outpost/agent";
import { ago, print, table } from "../output.ts";

interface AgentStartOptions { config?: string; site?: string; stateDir?: string; enrollToken?: string; label: string[]; logLevel?: string }

export function agentCommands(program: Command): void {
  const agent = program.command("agent").description("run or inspect the site agent");

  agent.command("start")
    .description("start the agent: enroll on first run, pull and verify signed bundles, reconcile, report")
    .option("-c, --config <file>", "YAML config file (env OUTPOST_* and flags override it)", process.env.OUTPOST_AGENT_CONFIG)
    .option("--site <name>", "this site's name (a DNS label)")
    .option("--state-dir <dir>", "where the key pair and state file live")
    .option("--enroll-token <token>", "bootstrap token from `outpost token create` (first run only)")
    .option("--label <k=v>", "label to enroll with (repeatable)", (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option("--log-level <level>", "pino log level")
    .action(async (o: AgentStartOptions, cmd: Command) => {
      // --hub is the program-wide option; the agent dials that hub. Same flags, config layering and
      // signals as the production entry (outpost-agent): both run agent/src/process.ts.
      const { runAgentProcess } = await import("@outpost/agent/process");
      await runAgentProcess({ ...o, hub: cmd.optsWithGlobals<{ hub?: string }>().hub });
    });

  agent.command("status")
    .description("what this site runs, read from the local state file (works with the hub unreachable)")
    .option("--state-dir <dir>", "the agent's state directory", process.env.OUTPOST_STATE_DIR ?? "/var/lib/outpost")
    .action(async (o: { stateDir: string }, cmd: Command) => {
      const { readAgentStatus } = await import("@outpost/agent/status"); // not the whole agent: a faster status
      const s = await readAgentStatus(o.stateDir);
      print(cmd.optsWithGlobals(), s, () => {
        const lines = [
          `site:            ${s.site ?? "(not enrolled)"}  (hub ${s.hubUrl ?? "-"})`,
          `bundle:          ${s.bundleVersion ? `v${s.bundleVersion}` : "none yet"}${s.release ? `  release ${s.release.name}@${s.release.version}` : ""}`,
          `state:           ${s.state}${s.stale ? "  STALE: last good bundle expired, still enforcing it" : ""}`,
          `expires:         ${s.expiresAt ?? "-"}`,
          `last applied:    ${s.lastAppliedAt ? `${s.lastAppliedAt} (${ago(s.lastAppliedAt)})` : "never"}`,
          `pending reports: ${s.pendingReports}`,
          `hub:             ${hubLine(s.hub)}`,
          `state dir free:  ${s.stateDirFreeBytes === null ? "?" : `${(s.stateDirFreeBytes / 1048576).toFixed(1)} MiB`}${s.stateDirFreeBytes === 0 ? "  FULL: the agent can record nothing, so it changes nothing on the site" : ""}`,
          "",
          "recent events:",
          s.recentEvents.length
            ? table(["AT", "TYPE", "MESSAGE"], s.recentEvents.map((e) => [e.at, e.type, e.message]))
            : "  (none)",
        ];
        return lines.join("\n");
      });
    });
}

/** "ok since ...", or what went wrong since when, and when the hub last answered at all. */
function hubLine(h: AgentStatus["hub"]): string {
  if (!h) return "no exchange recorded yet";
  if (h.state === "ok") return `ok since ${h.since}`;
  const last = h.lastContactAt ? `last answer ${h.lastContactAt} (${ago(h.lastContactAt)})` : "no answer since the agent started";
  return `${h.state.toUpperCase()} since ${h.since} (${ago(h.since)}): ${h.problem?.code ?? "?"}: ${h.problem?.message ?? ""}; ${last}`;
}
