/**
 * The agent as a real process, the way systemd runs it (bin/outpost-agent.js: agent/src/run.ts bundled):
 * SIGKILLed in the middle of applying a bundle, its state file must pass integrity_check and a restart
 * must finish the job; SIGTERM stops it cleanly. Its flags beat the environment; bad ones exit 2.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { openStore } from "./store/db.ts";
import { listSimObjects } from "./drivers/sim/world.ts";
import { FixtureHub } from "./testing/fixture-hub.ts";
import { tempDir, waitFor } from "./testing/harness.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
// The production entry (bin/outpost-agent.js: the bundle `pnpm build` makes, which the test setup builds).
const RUN = fileURLToPath(new URL("../../bin/outpost-agent.js", import.meta.url));
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => { while (cleanups.length) await cleanups.pop()!(); });

function spawnAgent(env: Record<string, string>, args: string[] = []): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [RUN, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (d) => { out += String(d); });
  child.stderr!.on("data", (d) => { out += String(d); });
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  cleanups.push(() => { if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL"); });
  return { child, output: () => out, exited };
}

async function scalar(stateDir: string, sql: string): Promise<unknown> {
  const s = await openStore(stateDir, { create: false });
  try { const rs = await s.db.execute(sql); return rs.rows[0]?.[0]; } finally { s.close(); }
}

describe("agent process", () => {
  it("survives SIGKILL mid-apply with an intact state file, finishes after restart, stops on SIGTERM", async () => {
    const hub = await FixtureHub.create();
    const t = tempDir();
    cleanups.push(t.cleanup, () => hub.stop());
    const env = {
      OUTPOST_HUB_URL: hub.url, OUTPOST_SITE: "edge-9", OUTPOST_STATE_DIR: t.dir, OUTPOST_ENROLL_TOKEN: hub.token,
      OUTPOST_LONG_POLL_SECONDS: "1", OUTPOST_HEAL_INTERVAL_SECONDS: "0.3", OUTPOST_REPORT_INTERVAL_SECONDS: "1",
      OUTPOST_BACKOFF_BASE_MS: "50", OUTPOST_BACKOFF_CAP_MS: "300", OUTPOST_SIM_STEP_DELAY_MS: "150", OUTPOST_LOG_LEVEL: "debug",
    };
    const instances = Array.from({ length: 12 }, (_, i) => ({ name: `vm${String(i).padStart(2, "0")}`, image: { alias: "debian-12" } }));
    const jws = await hub.sign({ site: "edge-9", version: 1, spec: { lxd: { instances } } });
    hub.publish(jws, 1);

    const first = spawnAgent(env);
    await waitFor("some steps applied", async () => Number(await scalar(t.dir, "SELECT COUNT(*) FROM journal WHERE type = 'step-done'").catch(() => 0)) >= 3, 60_000);
    first.child.kill("SIGKILL");
    await first.exited;

    expect(await scalar(t.dir, "PRAGMA integrity_check")).toBe("ok");
    const half = (await listSimObjects(t.dir, "lxd.instance")).length;
    expect(half).toBeGreaterThanOrEqual(3);
    expect(half).toBeLessThan(12);
    expect(Number(await scalar(t.dir, "SELECT MAX(version) FROM bundles"))).toBe(1);

    const second = spawnAgent(env);
    await waitFor("applied after restart", () => hub.eventsOf("applied").length === 1, 60_000);
    expect((await listSimObjects(t.dir, "lxd.instance")).map((r) => r.name)).toEqual(instances.map((i) => i.name));
    expect(hub.eventsOf("enrolled")).toHaveLength(1); // not re-enrolled after the crash

    second.child.kill("SIGTERM");
    expect(await second.exited).toBe(0);
    expect(await scalar(t.dir, "SELECT type FROM journal ORDER BY seq DESC LIMIT 1")).toBe("agent-stopped");
    expect(await scalar(t.dir, "PRAGMA integrity_check")).toBe("ok");

    // Secrets stay out of the logs: no enrollment secret, no JWS / JWT, no private key.
    const logs = first.output() + second.output();
    expect(logs).toContain("SIMULATED site");
    expect(logs).not.toContain(hub.token.split(".").at(-1)!);
    expect(logs).not.toContain(jws.split(".")[2]!);
    expect(logs).not.toMatch(/eyJ[A-Za-z0-9_-]{20,}/);
    expect(logs).not.toMatch(/"d":"/);
  });

  it("takes the flags of `outpost agent start` over OUTPOST_* variables, and refuses bad ones with exit 2", async () => {
    const hub = await FixtureHub.create();
    const t = tempDir();
    cleanups.push(t.cleanup, () => hub.stop());
    const env = { OUTPOST_HUB_URL: "http://127.0.0.1:9", OUTPOST_SITE: "from-env", OUTPOST_STATE_DIR: "/nonexistent/outpost", OUTPOST_ENROLL_TOKEN: hub.token };
    const agent = spawnAgent(env, ["--hub", hub.url, "--site", "from-flag", "--state-dir", t.dir, "--label", "tier=canary"]);
    await waitFor("the agent's start line", () => agent.output().includes("outpost agent running for site from-flag"), 60_000);
    expect([...hub.sites.keys()]).toEqual(["from-flag"]);
    agent.child.kill("SIGTERM");
    expect(await agent.exited).toBe(0);

    for (const [args, says] of [[["--label", "tier"], "'tier' must be key=value"], [["--no-such-flag"], "Unknown option '--no-such-flag'"]] as const) {
      const bad = spawnAgent(env, [...args]);
      expect(await bad.exited, bad.output()).toBe(2);
      expect(bad.output()).toContain(says);
    }
    expect([...hub.sites.keys()]).toEqual(["from-flag"]);
  });
});
