import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, rmSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { Command } from "commander";
import { parse as parseYaml } from "yaml";
import { OperatorClient } from "@outpost/shared";
import { table } from "../output.ts";

const REPO = resolve(import.meta.dirname, "../..");
const CLI = join(REPO, "bin/outpost.js");
const SITES = [
  { site: "lisbon-01", labels: { region: "eu", chain: "acme" } },
  { site: "berlin-01", labels: { region: "eu", chain: "acme" } },
  { site: "austin-01", labels: { region: "us", chain: "acme" } },
];

function launch(name: string, args: string[], env: Record<string, string>, children: ChildProcess[]): Promise<string> {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: REPO, env: { ...process.env, OUTPOST_LOG_LEVEL: "warn", ...env }, stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let out = "";
  child.stderr!.setEncoding("utf8").on("data", (d: string) => { out += d; process.stderr.write(`[${name}] ${d}`); });
  return new Promise((res, rej) => {
    child.stdout!.setEncoding("utf8").on("data", (d: string) => {
      out += d;
      const m = /(outpost hub listening on \S+|outpost agent running for site \S+)/.exec(out);
      if (m) res(m[1]!);
    });
    child.once("exit", (code) => rej(new Error(`${name} exited with ${code} before it was ready:\n${out}`)));
  });
}

/**
 * The README's demo: a hub with embedded defaults and three simulated sites converging on a
 * release, left running so a person can try the CLI against it.
 */
export function demoCommand(program: Command): void {
  program.command("demo")
    .description("run a hub and three simulated sites (sim driver) converging on a release")
    .option("--port <port>", "hub port", "7800")
    .option("--dir <dir>", "where the demo keeps its state (wiped at start)", ".outpost/demo")
    .action(async (o: { port: string; dir: string }) => {
      const dir = resolve(o.dir);
      if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
      const adminToken = `opa_${randomBytes(32).toString("base64url")}`;
      const children: ChildProcess[] = [];
      const stopAll = () => { for (const c of children) c.kill("SIGTERM"); };
      process.once("SIGINT", () => { stopAll(); process.exit(0); });
      process.once("SIGTERM", () => { stopAll(); process.exit(0); });
      try {
        const ready = await launch("hub", ["hub", "start", "--data-dir", join(dir, "hub"), "--port", o.port], {
          OUTPOST_ADMIN_TOKEN: adminToken,
          // The embedded MQTT broker on free ports unless told otherwise: a demo must not fail on a busy 1883.
          OUTPOST_MQTT_PORT: process.env.OUTPOST_MQTT_PORT ?? "0", OUTPOST_MQTT_WS_PORT: process.env.OUTPOST_MQTT_WS_PORT ?? "0",
        }, children);
        const url = ready.replace("outpost hub listening on ", "");
        console.log(`hub running at ${url}`);
        const op = new OperatorClient(url, adminToken);
        const token = await op.createToken({ uses: SITES.length, expiresInHours: 1 });
        for (const s of SITES) {
          const args = ["--hub", url, "agent", "start", "--site", s.site, "--state-dir", join(dir, "sites", s.site), "--enroll-token", token.token];
          for (const [k, v] of Object.entries(s.labels)) args.push("--label", `${k}=${v}`);
          await launch(s.site, args, { OUTPOST_LONG_POLL_SECONDS: "25", OUTPOST_REPORT_INTERVAL_SECONDS: "5", OUTPOST_TRANSPORT: "auto" }, children);
          console.log(`site ${s.site} started (simulated LXD/OVN/Ceph/apt: sim driver; MQTT delivery, HTTPS fallback), enrolling`);
        }
        await until(async () => (await op.listSites()).length === SITES.length, 30_000, "sites to enroll");
        for (const s of SITES) await op.approveSite(s.site);
        console.log("approved all three sites");
        const release = parseYaml(await readFile(join(REPO, "examples/store-1.0.yaml"), "utf8"));
        await op.createRelease(release);
        const assigned = await op.assign({ name: "store", version: "1.0" }, "");
        console.log(`assigned store@1.0 to ${assigned.assigned.length} sites; waiting for them to apply it...`);
        await until(async () => {
          const sites = await op.listSites();
          const done = sites.filter((s) => s.appliedVersion === 1 && s.state === "in-sync").length;
          process.stdout.write(`\r  ${done}/${SITES.length} sites in sync`);
          return done === SITES.length;
        }, 60_000, "sites to apply store@1.0");
        process.stdout.write("\n\n");
        const sites = await op.listSites();
        console.log(table(["SITE", "STATE", "APPLIED", "RELEASE", "LABELS"], sites.map((s) => [s.name, s.state, s.appliedVersion, s.release, Object.entries(s.labels).map(([k, v]) => `${k}=${v}`).join(",")])));
        console.log(`
The demo is running (Ctrl-C stops it). In another terminal:

  export OUTPOST_HUB_URL=${url} OUTPOST_TOKEN=${adminToken}
  pnpm outpost sites list
  pnpm outpost release create -f examples/store-1.1.yaml
  pnpm outpost release assign store@1.1 --selector region=eu     # only the two EU stores move
  pnpm outpost events --type applied
  pnpm outpost agent status --state-dir ${join(o.dir, "sites", "lisbon-01")}

Dashboard: ${url}/ui  (sign in with the token above)
API: ${url}/api/v1/sites (Authorization: Bearer $OUTPOST_TOKEN), reference: ${url}/api/docs, health: ${url}/healthz
`);
      } catch (e) {
        stopAll();
        throw e;
      }
    });
}

async function until(fn: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
