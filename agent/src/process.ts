/**
 * The agent as an operating-system process, whichever way it is started (`outpost-agent`, the
 * production bundle; `outpost agent start`; `node --import tsx agent/src/run.ts`): the same flags,
 * the same config layering (file < OUTPOST_* < flags), the same start line and the same signals.
 */
import { ConfigError, loadConfig, type AgentConfigInput } from "./config.ts";
import { startAgent } from "./main.ts";

/** The flags of `outpost agent start` and `outpost-agent`. */
export interface StartFlags {
  config?: string | undefined;
  hub?: string | undefined;
  site?: string | undefined;
  stateDir?: string | undefined;
  enrollToken?: string | undefined;
  label?: string[] | undefined;
  logLevel?: string | undefined;
}

/** The flags that were given, as loadConfig overrides (the highest layer). */
export function flagOverrides(f: StartFlags): Partial<AgentConfigInput> {
  const o: Record<string, unknown> = {};
  if (f.hub) o.hubUrl = f.hub;
  if (f.site) o.site = f.site;
  if (f.stateDir) o.stateDir = f.stateDir;
  if (f.enrollToken) o.enrollToken = f.enrollToken;
  if (f.logLevel) o.logLevel = f.logLevel;
  if (f.label?.length) {
    const labels: Record<string, string> = {};
    for (const l of f.label) {
      const i = l.indexOf("=");
      if (i <= 0) throw new ConfigError(`invalid agent config:\n  labels (from --label): '${l}' must be key=value`, [{ field: "labels", source: "--label", message: `'${l}' must be key=value` }]);
      labels[l.slice(0, i)] = l.slice(i + 1);
    }
    o.labels = labels;
  }
  return o as Partial<AgentConfigInput>;
}

/**
 * Loads the config, starts the agent, prints one line saying so (what supervisors and tests wait
 * for), and stops it cleanly on SIGTERM / SIGINT; a second signal means "now". Throws what
 * startAgent throws (ConfigError for a bad config).
 */
export async function runAgentProcess(f: StartFlags): Promise<void> {
  const config = loadConfig({ file: f.config ?? process.env.OUTPOST_AGENT_CONFIG, env: process.env, overrides: flagOverrides(f) });
  const agent = await startAgent(config);
  process.stdout.write(`outpost agent running for site ${agent.site}\n`);
  let signals = 0;
  const onSignal = () => {
    if (++signals > 1) process.exit(130);
    void agent.stop().then(() => process.exit(0), (e: unknown) => { console.error(`outpost-agent: stop failed: ${(e as Error).message}`); process.exit(1); });
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
}
