import { readFileSync } from "node:fs";
import { join } from "node:path";
import { spawn } from "node:child_process";
import { randomInt } from "node:crypto";
import { signAgentJwt, type OperatorClient } from "@outpost/shared";
import { waitFor, type OutpostProcess } from "./processes.ts";
import { withStateFile } from "./state-file.ts";

/** The broker URLs a hub process printed (`mqtt broker (<mode>): mqtt://... ws://...`). */
export async function brokerUrls(hub: OutpostProcess): Promise<string[]> {
  const m = await hub.waitForOutput(/mqtt broker \((?:embedded|external)\): (.+)\n/);
  return m[1]!.trim().split(" ");
}

/** A fresh MQTT password for a site of a SimFleet / Fleet: a JWT signed with the site's own key. */
export async function siteJwt(stateDir: string, site: string): Promise<string> {
  const jwk = JSON.parse(readFileSync(join(stateDir, "agent.key"), "utf8"));
  return signAgentJwt(site, jwk);
}

/** The broker secret an agent holds for an external broker (from its state file). */
export async function siteBrokerSecret(stateDir: string): Promise<string | undefined> {
  return withStateFile(stateDir, async (db) => {
    const row = (await db.execute("SELECT value FROM kv WHERE key = 'mqtt-credentials'")).rows[0];
    return row ? (JSON.parse(String(row.value)) as { password?: string }).password : undefined;
  });
}

/** Runs a real mosquitto_sub / mosquitto_pub; resolves with its exit code and output (never rejects). */
export function mosquittoClient(cmd: "mosquitto_sub" | "mosquitto_pub", args: string[], timeoutMs = 10_000): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => { out += String(d); });
    child.stderr.on("data", (d) => { out += String(d); });
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("exit", (code) => { clearTimeout(timer); resolve({ code, out }); });
  });
}

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/** A ULID (the test package has no ulid dependency): 10 time characters, 16 random. */
function ulid(): string {
  let t = Date.now(), time = "";
  for (let i = 0; i < 10; i++) { time = CROCKFORD[t % 32] + time; t = Math.floor(t / 32); }
  let rand = "";
  for (let i = 0; i < 16; i++) rand += CROCKFORD[randomInt(32)];
  return time + rand;
}

/** A valid one-event ReportsRequest body, so a refused publish is refused for who sent it, not what. */
export function oneEventReport(message: string): { id: string; body: string } {
  const id = ulid();
  return { id, body: JSON.stringify({ reports: [{ id, at: new Date().toISOString(), kind: "event", body: { type: "drift-healed", message } }] }) };
}

/** Every bundle-received event of a site, with the transport its message names. */
export async function deliveries(op: OperatorClient, site: string): Promise<{ version: number; via: string; id: string }[]> {
  const evs = await op.reports({ site, kind: "event", type: "bundle-received", limit: 10_000 });
  return evs.map((e) => ({ id: e.id, version: Number(e.body.bundleVersion), via: /via (\w+)/.exec(String(e.body.message))?.[1] ?? "?" }));
}

/** Waits until each site holds `version` delivered over `via`. */
export async function waitDelivered(op: OperatorClient, sites: string[], version: number, via: string, timeoutMs = 30_000): Promise<void> {
  await waitFor(`v${version} delivered over ${via} to ${sites.join(", ")}`, async () => {
    for (const s of sites) if (!(await deliveries(op, s)).some((d) => d.version === version && d.via === via)) return false;
    return true;
  }, timeoutMs);
}

/** Event ids an agent journaled (every event it ever queued), to check that none went missing. */
export async function journaledEventIds(stateDir: string): Promise<string[]> {
  return withStateFile(stateDir, async (db) => (await db.execute("SELECT detail FROM journal WHERE type LIKE 'event:%'")).rows
    .map((r) => String((JSON.parse(String(r.detail)) as { id: string }).id)));
}
