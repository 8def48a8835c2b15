/**
 * Process entry point: `node --import tsx agent/src/run.ts [--config agent.yaml]`, configured by the
 * file and OUTPOST_* variables. Stops cleanly on SIGTERM / SIGINT (systemd, Ctrl-C).
 */
import { parseArgs } from "node:util";
import { ConfigError, loadConfig } from "./config.ts";
import { startAgent } from "./main.ts";

const { values } = parseArgs({ options: { config: { type: "string", short: "c" } } });
try {
  const config = loadConfig({ file: values.config ?? process.env.OUTPOST_AGENT_CONFIG, env: process.env });
  const agent = await startAgent(config);
  let signals = 0;
  const onSignal = (sig: string) => {
    if (++signals > 1) process.exit(130); // a second Ctrl-C means "now"
    void agent.stop().then(() => process.exit(0), (e: unknown) => { console.error(`outpost-agent: stop failed: ${(e as Error).message}`); process.exit(1); });
    void sig;
  };
  process.on("SIGTERM", () => onSignal("SIGTERM"));
  process.on("SIGINT", () => onSignal("SIGINT"));
} catch (e) {
  console.error(e instanceof ConfigError ? e.message : `outpost-agent: ${(e as Error).message}`);
  process.exit(e instanceof ConfigError ? 2 : 1);
}
