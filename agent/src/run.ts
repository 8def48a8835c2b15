/**
 * The agent's process entry: `outpost-agent` (bin/outpost-agent.js runs this file bundled by
 * `pnpm build`, with plain node) or `node --import tsx agent/src/run.ts`. The flags are those of
 * `outpost agent start`; the config file, OUTPOST_* variables and flags layer as documented there.
 * Exit codes: 2 for a bad config, 1 for anything else that stops the start.
 */
import { parseArgs } from "node:util";
import { ConfigError } from "./config.ts";
import { runAgentProcess } from "./process.ts";

const USAGE = `usage: outpost-agent [-c agent.yaml] [--hub URL] [--site NAME] [--state-dir DIR] [--enroll-token T] [--label k=v]... [--log-level L]
Starts the site agent: enroll on first run, pull and verify signed bundles, reconcile, report.
The config file (or OUTPOST_AGENT_CONFIG) < OUTPOST_* variables < these flags. See agent/README.md.`;

try {
  const { values } = parseArgs({
    options: {
      config: { type: "string", short: "c" }, hub: { type: "string" }, site: { type: "string" }, "state-dir": { type: "string" },
      "enroll-token": { type: "string" }, label: { type: "string", multiple: true }, "log-level": { type: "string" }, help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(USAGE);
  } else {
    await runAgentProcess({
      config: values.config, hub: values.hub, site: values.site, stateDir: values["state-dir"],
      enrollToken: values["enroll-token"], label: values.label, logLevel: values["log-level"],
    });
  }
} catch (e) {
  const usage = (e as { code?: string }).code?.startsWith("ERR_PARSE_ARGS") ? `\n${USAGE}` : "";
  console.error(e instanceof ConfigError ? e.message : `outpost-agent: ${(e as Error).message}${usage}`);
  process.exit(e instanceof ConfigError || usage ? 2 : 1);
}
