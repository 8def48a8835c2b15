import { execFile, spawn } from "node:child_process";
import { chmodSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { OperatorClient } from "@outpost/shared";
import { freePort } from "../daemons/util.ts";
import { OutpostProcess, REPO, tempDir } from "../lib/processes.ts";
import { exposure, unitDir, verify } from "./lib/systemd.ts";
import { readEnvFile, readUnit } from "./lib/unit.ts";

const SYSTEMD = join(REPO, "deploy/systemd");
const AGENT = "outpost-agent.service";
const HUB = "outpost-hub.service";
const text = (f: string) => readFileSync(join(SYSTEMD, f), "utf8");
const HOST_DROP_IN = "host-driver.conf";
const hostDropIn = () => text(`${AGENT}.d/${HOST_DROP_IN}`);

describe("deploy/systemd units", () => {
  const dirs: string[] = [];
  const procs: OutpostProcess[] = [];
  const dirFor = (unit: string, body: string, dropIns?: Record<string, string>) => { const d = unitDir(unit, body, dropIns); dirs.push(d); return d; };
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.kill("SIGKILL")));
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it("pass systemd-analyze verify without a word of complaint, the agent also with its host-driver drop-in", async () => {
    for (const [unit, dropIns] of [[HUB, {}], [AGENT, {}], [AGENT, { [HOST_DROP_IN]: hostDropIn() }]] as const) {
      const r = await verify(dirFor(unit, text(unit), dropIns), unit);
      expect(r, `${unit} ${Object.keys(dropIns).join(" ")}`).toEqual({ ok: true, output: "" });
    }
  });

  it("a misspelt directive, a misplaced one, or a missing ExecStart binary fails the check", async () => {
    const broken = [
      text(AGENT).replace("ProtectSystem=strict", "ProtectSystm=strict"),
      text(HUB).replace("[Service]\n", "[Service]\nStartLimitIntervalSec=0\n"), // belongs in [Unit]
      text(HUB).replace("ExecStart=/usr/bin/node ", "ExecStart=/usr/bin/node-missing "),
    ];
    for (const body of broken) expect((await verify(dirFor(HUB, body), HUB)).ok).toBe(false);
    const typoDropIn = hostDropIn().replace("ProtectSystem=no", "ProtectSytem=no");
    expect((await verify(dirFor(AGENT, text(AGENT), { [HOST_DROP_IN]: typoDropIn }), AGENT)).ok).toBe(false);
  });

  it("the agent unit restarts always, keeps state in /var/lib/outpost, reads its config files, and is sandboxed", () => {
    const s = readUnit(text(AGENT)).Service!;
    expect(s.Restart).toEqual(["always"]);
    expect(s.StateDirectory).toEqual(["outpost"]);
    expect(s.ExecStart![0]).toContain("--state-dir /var/lib/outpost");
    expect(s.ExecStart![0]).toContain("--config /etc/outpost/agent.yaml");
    expect(s.EnvironmentFile).toEqual(["-/etc/outpost/agent.env", "-/etc/outpost/enroll.env"]);
    for (const [k, v] of [["ProtectSystem", "strict"], ["NoNewPrivileges", "yes"], ["PrivateTmp", "yes"], ["ProtectHome", "yes"]]) expect(s[k!], k).toEqual([v]);
    expect(readUnit(text(HUB)).Service).toMatchObject({ Restart: ["always"], DynamicUser: ["yes"], StateDirectory: ["outpost-hub"], EnvironmentFile: ["/etc/outpost/hub.env"] });
  });

  it("systemd-analyze security rates the hub and the agent OK; the host-driver drop-in is what lifts the agent's sandbox", async () => {
    const hub = await exposure(dirFor(HUB, text(HUB)), HUB);
    const agent = await exposure(dirFor(AGENT, text(AGENT)), AGENT);
    const withApt = await exposure(dirFor(AGENT, text(AGENT), { [HOST_DROP_IN]: hostDropIn() }), AGENT);
    expect(hub).toBeLessThanOrEqual(1.5);
    expect(agent).toBeLessThanOrEqual(2.5);
    expect(withApt).toBeGreaterThan(agent + 3);
    // Not a constant: dropping the sandbox of the hub unit shows up in the score.
    const bare = text(HUB).split("\n").filter((l) => !/^(Protect|Private|Restrict|SystemCall|Capability|DynamicUser|NoNewPrivileges|LockPersonality|RemoveIPC|UMask|ProcSubset)/.test(l)).join("\n");
    expect(await exposure(dirFor(HUB, bare), HUB)).toBeGreaterThan(hub + 5);
  });

  it("ProtectSystem=strict leaves unix sockets usable: connect() works on a read-only mount where writing fails", async () => {
    const dir = tempDir("deploy-rosock");
    dirs.push(dir);
    const sock = join(dir, "lxd.socket");
    const server: Server = createServer((c) => c.end("hello from the socket")).listen(sock);
    await new Promise((r) => server.once("listening", r));
    try {
      const probe = `mount --bind ${dir} ${dir} && mount -o remount,bind,ro ${dir} && { touch ${dir}/w 2>/dev/null && echo WRITABLE || echo READ-ONLY; } && ` +
        `${process.execPath} -e 'require("net").connect(process.argv[1]).on("data", (d) => console.log(String(d)))' ${sock}`;
      const out = await new Promise<string>((resolve, reject) => execFile("unshare", ["-m", "sh", "-c", probe], { timeout: 15_000 }, (e, so, se) => (e ? reject(new Error(`${e.message}\n${se}`)) : resolve(so))));
      expect(out).toContain("READ-ONLY");
      expect(out).toContain("hello from the socket");
    } finally { server.close(); }
  });

  it("the hub unit's ExecStart serves with hub.env.example as its EnvironmentFile", async () => {
    const unit = readUnit(text(HUB)).Service!;
    const dataDir = tempDir("deploy-hub-state");
    dirs.push(dataDir);
    chmodSync(dataDir, 0o700);
    const port = await freePort();
    const fromUnit = Object.fromEntries(unit.Environment!.map((e) => e.split("=", 2) as [string, string]));
    const env = {
      PATH: process.env.PATH, ...fromUnit, ...readEnvFile(text("hub.env.example")),
      // Adapted to this machine: the state dir, loopback, free ports.
      OUTPOST_DATA_DIR: dataDir, OUTPOST_HOST: "127.0.0.1", OUTPOST_PORT: String(port), OUTPOST_MQTT_PORT: "0", OUTPOST_MQTT_WS_PORT: "0",
      OUTPOST_ADMIN_TOKEN: "opa_systemd-unit-test-token-0123456789",
    };
    expect(fromUnit.OUTPOST_DATA_DIR).toBe("/var/lib/outpost-hub"); // = StateDirectory=outpost-hub
    const argv = unit.ExecStart![0]!.split(/\s+/).map((a) => a.replace(/^\/usr\/bin\/node$/, process.execPath).replace(/^\/opt\/outpost\//, `${REPO}/`));
    const hub = new OutpostProcess("hub unit", spawn(argv[0]!, argv.slice(1), { cwd: "/", env, stdio: ["ignore", "pipe", "pipe"] }));
    procs.push(hub);
    await hub.waitForOutput(/outpost hub listening on http:\/\/127\.0\.0\.1:\d+/);
    expect(await new OperatorClient(`http://127.0.0.1:${port}`, env.OUTPOST_ADMIN_TOKEN).whoami()).toMatchObject({ hubAdmin: true });
  });
});
