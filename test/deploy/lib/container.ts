// Runs the staged hub image (lib/image.ts) the way a container runtime would: ENTRYPOINT + CMD in WORKDIR,
// the image's ENV under the service's environment, and nothing of this test process's own environment
// except PATH (a container starts with a clean one), so the hub sees exactly what compose / the Dockerfile give it.
import { execFile, spawn } from "node:child_process";
import { dirname } from "node:path";
import { OutpostProcess, tempDir, waitFor } from "../../lib/processes.ts";
import type { Stage } from "./dockerfile.ts";
import { imageCommand } from "./image.ts";

export function containerEnv(stage: Stage, env: Record<string, string>): Record<string, string> {
  return { PATH: `${dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin`, HOME: tempDir("home"), ...stage.env, ...env };
}

export function runContainer(name: string, root: string, stage: Stage, env: Record<string, string>): OutpostProcess {
  const { argv, cwd } = imageCommand(root, stage);
  const child = spawn(argv[0]!, argv.slice(1), { cwd, env: containerEnv(stage, env), stdio: ["ignore", "pipe", "pipe"] });
  return new OutpostProcess(name, child);
}

/** Runs the image's HEALTHCHECK command once: its exit status. */
export function healthcheck(root: string, stage: Stage, env: Record<string, string>): Promise<number> {
  const cmd = stage.healthcheck!.cmd.map((a) => (a === "node" ? process.execPath : a));
  return new Promise((resolve) => {
    execFile(cmd[0]!, cmd.slice(1), { env: containerEnv(stage, env), cwd: imageCommand(root, stage).cwd, timeout: 10_000 }, (err) => {
      resolve(err ? (typeof (err as { code?: unknown }).code === "number" ? (err as { code: number }).code : 1) : 0);
    });
  });
}

/** Like `depends_on: condition: service_healthy`: polls the HEALTHCHECK until it passes. */
export async function waitHealthy(p: OutpostProcess, root: string, stage: Stage, env: Record<string, string>, timeoutMs = 60_000): Promise<void> {
  await waitFor(`${p.name} to pass the image's HEALTHCHECK`, async () => {
    if (!p.alive) throw new Error(`${p.name} exited (${p.child.exitCode ?? p.child.signalCode}):\n${p.text().slice(-3000)}`);
    return (await healthcheck(root, stage, env)) === 0;
  }, timeoutMs, 250);
}
