// Runs deploy/mosquitto/start.sh with deploy/mosquitto/mosquitto.conf, adapted only in its port, the plugin's
// path (Debian's, not the eclipse-mosquitto image's) and the data directory: the dynamic-security set-up the
// deploy files describe, on the real Debian broker.
import { chownSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DYNSEC_PLUGIN } from "../../daemons/mosquitto.ts";
import { freePort, isAlive, logTail, removeDir, spawnDaemon, stopPid, waitFor } from "../../daemons/util.ts";
import { REPO } from "../../lib/processes.ts";
import { adapt } from "./adapt.ts";

export const MOSQUITTO_DIR = join(REPO, "deploy/mosquitto");

export interface DeployedMosquitto { url: string; port: number; dataDir: string; pid: number; log: () => string; stop(): Promise<void> }

/** `env` is the compose service's environment (secret paths already rewritten). */
export async function startDeployedMosquitto(env: Record<string, string>, containerData = "/mosquitto/data"): Promise<DeployedMosquitto> {
  const dir = mkdtempSync(join(tmpdir(), "outpost-deploy-mosquitto-"));
  const port = await freePort();
  let conf = readFileSync(join(MOSQUITTO_DIR, "mosquitto.conf"), "utf8");
  conf = adapt(conf, /^listener 1883$/m, `listener ${port} 127.0.0.1`, "mosquitto.conf");
  conf = adapt(conf, "/usr/lib/mosquitto_dynamic_security.so", DYNSEC_PLUGIN, "mosquitto.conf");
  conf = adapt(conf, containerData, dir, "mosquitto.conf");
  const confFile = join(dir, "mosquitto.conf");
  writeFileSync(confFile, conf);
  // What the image's entrypoint does (chown -R /mosquitto): the broker drops from root to its own user.
  const passwd = readFileSync("/etc/passwd", "utf8").split("\n").find((l) => l.startsWith("mosquitto:"));
  if (process.getuid?.() === 0 && passwd) chownSync(dir, Number(passwd.split(":")[2]), Number(passwd.split(":")[3]));
  const logFile = join(tmpdir(), `outpost-deploy-mosquitto-${port}.log`);
  const child = spawnDaemon("/bin/sh", [join(MOSQUITTO_DIR, "start.sh")], logFile, {
    env: { ...env, MOSQUITTO_CONF: confFile, PATH: `${process.env.PATH}:/usr/sbin:/sbin` },
  });
  const pid = child.pid!;
  const stop = async () => { await stopPid(pid); removeDir(dir); removeDir(logFile); };
  try {
    await waitFor("the deployed mosquitto", () => /mosquitto version \S+ running/.test(logTail(logFile, 200)), {
      timeoutMs: 15_000, everyMs: 25, abortIf: () => (isAlive(pid) ? undefined : `start.sh exited: ${logTail(logFile)}`),
    });
  } catch (e) { await stop(); throw e; }
  return { url: `mqtt://127.0.0.1:${port}`, port, dataDir: dir, pid, log: () => logTail(logFile, 200), stop };
}
