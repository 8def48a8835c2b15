import { execFile, spawn } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { loadConfig } from "@outpost/agent";
import { processesMatching, run } from "../daemons/util.ts";
import { Fleet } from "../lib/fleet.ts";
import { OutpostProcess, REPO, spawnOutpost, tempDir, waitFor } from "../lib/processes.ts";
import { adapt } from "./lib/adapt.ts";
import { readUnit } from "./lib/unit.ts";

const USER_DATA = join(REPO, "deploy/cloud-init/user-data.yaml");
interface WriteFile { path: string; content: string; permissions: string; owner: string }
const userData = () => parse(readFileSync(USER_DATA, "utf8")) as { write_files: WriteFile[]; runcmd: string[] };

/**
 * deploy/cloud-init/user-data.yaml on a new site, with a temp dir as `/`: its write_files are written (the
 * placeholders replaced by a real hub's URL and a real bootstrap token from `outpost token create`), then the
 * enroll script it wrote runs exactly as runcmd runs it. cloud-init itself validates the file's schema.
 */
describe("cloud-init: a new site enrolls with one bootstrap token", () => {
  const fleet = new Fleet();
  const roots: string[] = [];
  const agents: OutpostProcess[] = [];

  /** cloud-init's write_files under `root`, site values substituted. */
  const writeSite = (site: string, token: string): string => {
    const root = tempDir("deploy-site");
    roots.push(root);
    for (const f of userData().write_files) {
      let content = f.content;
      if (f.path === "/etc/outpost/agent.yaml") {
        content = adapt(content, "hubUrl: https://outpost.example.org", `hubUrl: ${fleet.url}`, f.path);
        content = adapt(content, "site: store-0001", `site: ${site}`, f.path);
      }
      if (f.path === "/etc/outpost/enroll.env") content = adapt(content, "OUTPOST_ENROLL_TOKEN=opt1.CHANGE-ME", `OUTPOST_ENROLL_TOKEN=${token}`, f.path);
      const file = join(root, f.path);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, content);
      chmodSync(file, Number.parseInt(f.permissions, 8));
    }
    return root;
  };
  const enroll = (root: string) => new Promise<{ code: number; output: string }>((resolve) => {
    const script = userData().runcmd.find((c) => c.includes("outpost-enroll"))!;
    execFile(join(root, script), [], {
      env: { PATH: `${dirname(process.execPath)}:/usr/bin:/bin:/usr/sbin:/sbin`, OUTPOST_ROOT: root, OUTPOST_HOME: REPO, OUTPOST_ENROLL_TIMEOUT: "60", OUTPOST_LOG_LEVEL: "warn" },
      timeout: 90_000,
    }, (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, output: `${stdout}${stderr}` }));
  });
  const wants = (root: string) => join(root, "etc/systemd/system/multi-user.target.wants/outpost-agent.service");
  const tokenCreate = async (...args: string[]) => {
    const p = spawnOutpost("token create", ["--json", "token", "create", ...args], { OUTPOST_HUB_URL: fleet.url, OUTPOST_TOKEN: fleet.adminToken });
    await waitFor("outpost token create", () => !p.alive, 30_000, 50);
    expect(p.child.exitCode, p.text()).toBe(0);
    return (JSON.parse(p.text()) as { token: string }).token;
  };

  beforeAll(async () => { await fleet.startHub(); });
  afterAll(async () => {
    await Promise.all(agents.map((a) => a.kill("SIGKILL")));
    await fleet.close();
    for (const r of roots) rmSync(r, { recursive: true, force: true });
  });

  it("is valid cloud-config (cloud-init schema) and embeds the repository's unit and enroll script verbatim", async () => {
    expect(readFileSync(USER_DATA, "utf8").split("\n")[0]).toBe("#cloud-config");
    const { stdout } = await run("cloud-init", ["schema", "--config-file", USER_DATA]);
    expect(stdout).toContain("Valid cloud-config");
    const files = Object.fromEntries(userData().write_files.map((f) => [f.path, f]));
    expect(files["/etc/systemd/system/outpost-agent.service"]!.content).toBe(readFileSync(join(REPO, "deploy/systemd/outpost-agent.service"), "utf8"));
    expect(files["/etc/systemd/system/outpost-agent.service.d/host-driver.conf"]!.content).toBe(readFileSync(join(REPO, "deploy/systemd/outpost-agent.service.d/host-driver.conf"), "utf8"));
    expect(files["/usr/local/sbin/outpost-enroll"]!.content).toBe(readFileSync(join(REPO, "deploy/cloud-init/outpost-enroll.sh"), "utf8"));
    expect(files["/etc/outpost/enroll.env"]!.permissions).toBe("0600");
    // The agent's own loader accepts the config the site gets.
    const cfg = loadConfig({ env: {}, overrides: parse(files["/etc/outpost/agent.yaml"]!.content) as object });
    expect(cfg).toMatchObject({ driver: "real", transport: "auto" });
  });

  it("a broken user-data fails the schema check", async () => {
    const dir = tempDir("deploy-ud");
    roots.push(dir);
    const bad = join(dir, "user-data.yaml");
    writeFileSync(bad, readFileSync(USER_DATA, "utf8").replace('    permissions: "0600"', '    permission: "0600"'));
    await expect(run("cloud-init", ["schema", "--config-file", bad])).rejects.toThrow(/permission/);
  });

  it("enrolls the site (pending), deletes the token, enables the unit, leaves no agent running; a second run changes nothing", async () => {
    const token = await tokenCreate("--label", "batch=2026-q4");
    const root = writeSite("ci-site-1", token);
    const first = await enroll(root);
    expect(first.code, first.output).toBe(0);
    expect((await fleet.site("ci-site-1"))).toMatchObject({ status: "pending", labels: { region: "eu", "store-chain": "acme", batch: "2026-q4" } });
    expect(existsSync(join(root, "etc/outpost/enroll.env"))).toBe(false);
    expect(readlinkSync(wants(root))).toBe("/etc/systemd/system/outpost-agent.service");
    expect(processesMatching(join(root, "var/lib/outpost"))).toEqual([]);

    const again = await enroll(root);
    expect(again.code, again.output).toBe(0);
    expect(again.output).not.toContain("enrolling");

    // The unit's own ExecStart (paths under the temp root) runs the enrolled agent without the token.
    await fleet.op.approveSite("ci-site-1");
    const unit = readUnit(readFileSync(join(root, "etc/systemd/system/outpost-agent.service"), "utf8"));
    const argv = unit.Service!.ExecStart![0]!.split(/\s+/).map((a) => a
      .replace(/^\/usr\/bin\/node$/, process.execPath).replace(/^\/opt\/outpost\//, `${REPO}/`).replace(/^\/(etc|var\/lib)\/outpost/, `${root}/$1/outpost`));
    const agent = new OutpostProcess("agent unit", spawn(argv[0]!, argv.slice(1), { cwd: "/", env: { PATH: process.env.PATH, OUTPOST_LOG_LEVEL: "warn", OUTPOST_TRANSPORT: "https" }, stdio: ["ignore", "pipe", "pipe"] }));
    agents.push(agent);
    await agent.waitForOutput(/outpost agent running for site ci-site-1/);
    await waitFor("the approved site to be seen by the hub", async () => (await fleet.site("ci-site-1")).lastSeenAt !== null, 30_000);
  });

  it("a refused token fails loudly: nothing enabled, the token kept for a retry, no site on the hub", async () => {
    const { token: real } = await fleet.op.createToken({ uses: 1 });
    const forged = real.slice(0, -1) + (real.endsWith("A") ? "B" : "A"); // the right hub, a wrong secret
    const root = writeSite("ci-site-3", forged);
    const r = await enroll(root);
    expect(r.code, r.output).toBe(1);
    expect(r.output).toContain("the hub refused the enrollment");
    expect(r.output).toContain("stopped before enrolling");
    expect(existsSync(wants(root))).toBe(false);
    expect(existsSync(join(root, "etc/outpost/enroll.env"))).toBe(true);
    expect((await fleet.op.listSites()).map((s) => s.name)).not.toContain("ci-site-3");
  });
});
