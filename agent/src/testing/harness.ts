/** Test helpers: temp state directories, a quiet logger, polling waits, and agent configs for a fixture hub. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { loadConfig, type AgentConfig, type AgentConfigInput } from "../config.ts";

export const quietLogger = pino({ level: process.env.OUTPOST_TEST_LOG ?? "silent" });

export function tempDir(prefix = "outpost-agent-"): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Polls `check` until it returns a truthy value (returned) or the time is up (throws, naming `what`). */
export async function waitFor<T>(what: string, check: () => T | Promise<T>, timeoutMs = 15_000, everyMs = 50): Promise<NonNullable<T>> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v as NonNullable<T>;
    } catch (e) { last = e; }
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ""}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** A config with fast cadences so tests run in seconds, not minutes. */
export function fastConfig(o: { hubUrl: string; stateDir: string; site?: string; enrollToken?: string } & Partial<AgentConfigInput>): AgentConfig {
  return loadConfig({
    env: {},
    overrides: {
      site: "edge-1",
      longPollSeconds: 1,
      healIntervalSeconds: 0.3,
      reportIntervalSeconds: 0.5,
      backoffBaseMs: 50,
      backoffCapMs: 300,
      stepRetryBaseMs: 10,
      quarantineBaseSeconds: 0.5,
      quarantineCapSeconds: 2,
      logLevel: "silent",
      ...o,
    },
  });
}
