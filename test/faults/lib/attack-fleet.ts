import { startHub, type RunningHub, type StartHubOptions } from "@outpost/hub";
import { Fleet } from "../../lib/fleet.ts";

/**
 * A Fleet (real agent processes) around a hub running in the test's own process: the same hub code
 * and embedded broker, but the test can act as the hub's broker client (to forge retained bundles
 * with broker access) and as its operator with the offline root (key rotation). Its log, at trace
 * level, is captured line by line for the secrets-in-logs check.
 */
export class InProcessHubFleet extends Fleet {
  running!: RunningHub;
  readonly hubLog: string[] = [];

  async startInProcessHub(opts: Partial<StartHubOptions> = {}): Promise<RunningHub> {
    this.running = await startHub({
      dataDir: this.hubDataDir, port: this.port, adminToken: this.adminToken, logLevel: "trace", rolloutTickSeconds: 0, mqttWsPort: null,
      logDestination: { write: (line: string) => { this.hubLog.push(line); } },
      ...opts,
    });
    this.url = this.running.url;
    this.port = this.running.port;
    return this.running;
  }

  override async close(): Promise<void> {
    await Promise.all([...this.agents.values()].map((a) => a.kill("SIGKILL")));
    await this.running?.close();
    await super.close();
  }
}
