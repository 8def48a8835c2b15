import { execFileSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { createClient } from "@libsql/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readAgentStatus } from "@outpost/agent/status";
import { OperatorClient } from "@outpost/shared";
import { start as startSqld, type SqldHandle } from "../daemons/sqld.ts";
import { freePort } from "../daemons/util.ts";
import { waitDelivered } from "../lib/mqtt.ts";
import { REPO, spawnOutpost, tempDir, waitFor, type OutpostProcess } from "../lib/processes.ts";
import { storeRelease } from "../lib/releases.ts";
import { healthcheck, runContainer, waitHealthy } from "./lib/container.ts";
import { readCompose, secretMounts, serviceEnv, volumeMounts, type Rewrites } from "./lib/compose.ts";
import { stageImage } from "./lib/image.ts";
import { startDeployedMosquitto, type DeployedMosquitto } from "./lib/mosquitto.ts";

/**
 * What deploy/compose.yaml describes, run with the real binaries instead of containers: sqld with the
 * sqld service's settings (JWT auth), Mosquitto from deploy/mosquitto/ with the mosquitto service's settings,
 * and hub-1 then hub-2 from the staged image (deploy/container/Dockerfile) with their services' environment;
 * service hosts, ports, /run/secrets and volumes are mapped onto loopback and temp dirs, secrets come from
 * deploy/make-secrets.sh. Then: both replicas serve and share the database, an agent enrolled through one gets
 * its bundle through the other, one replica leads the rollouts.
 */
describe("deploy/compose.yaml, run for real", () => {
  const compose = readCompose();
  const dir = tempDir("deploy-compose");
  const secrets = join(dir, "secrets");
  const volumes: Record<string, string> = {};
  const volumeDir = (name: string) => (volumes[name] ??= tempDir(`volume-${name}`));
  let sqld!: SqldHandle;
  let mosquitto!: DeployedMosquitto;
  const hubs: { name: string; proc: OutpostProcess; url: string; env: Record<string, string> }[] = [];
  const agents: OutpostProcess[] = [];
  let image!: ReturnType<typeof stageImage>;
  let adminToken = "";

  /** compose's view of a service's paths: its secrets, and its named volumes (./ bind mounts are the repo's). */
  const rewritesFor = (service: string, hosts: Record<string, string>): Rewrites => {
    const paths: Record<string, string> = { ...secretMounts(compose, service, secrets) };
    for (const [target, source] of Object.entries(volumeMounts(compose, service))) {
      if (!source.startsWith(".")) paths[target] = volumeDir(source);
    }
    return { paths, hosts };
  };

  beforeAll(async () => {
    execFileSync("bash", [join(REPO, "deploy/make-secrets.sh"), secrets], { stdio: "pipe" });
    adminToken = readFileSync(join(secrets, "admin_token"), "utf8").trim();

    const sqldEnv = serviceEnv(compose, "sqld", {}, rewritesFor("sqld", {}));
    delete sqldEnv.SQLD_NODE; // read by the image's entrypoint script, not by sqld
    sqld = await startSqld({ env: sqldEnv });
    mosquitto = await startDeployedMosquitto(serviceEnv(compose, "mosquitto", {}, rewritesFor("mosquitto", {})));
    image = stageImage(join(dir, "image"));

    const hosts = { "sqld:8080": `127.0.0.1:${sqld.port}`, "mosquitto:1883": `127.0.0.1:${mosquitto.port}` };
    // hub-2 waits for hub-1 to be healthy (depends_on), as compose would start them.
    for (const name of ["hub-1", "hub-2"]) {
      const deps = Object.keys(compose.services[name]!.depends_on ?? {});
      for (const d of deps) if (d.startsWith("hub-")) expect(hubs.map((h) => h.name)).toContain(d);
      const r = rewritesFor(name, hosts);
      const port = await freePort();
      const env = {
        ...serviceEnv(compose, name, { OUTPOST_MQTT_PUBLIC_URL: mosquitto.url }, r),
        // The image's ENV, mapped like compose's values: the data dir is the shared volume, the port a free one.
        OUTPOST_DATA_DIR: r.paths[image.stage.env.OUTPOST_DATA_DIR!]!,
        OUTPOST_HOST: "127.0.0.1", OUTPOST_PORT: String(port), OUTPOST_LOG_LEVEL: "warn",
      };
      const proc = runContainer(name, image.root, image.stage, env);
      hubs.push({ name, proc, url: `http://127.0.0.1:${port}`, env });
      await waitHealthy(proc, image.root, image.stage, env);
    }
  });
  afterAll(async () => {
    await Promise.all([...agents, ...hubs.map((h) => h.proc)].map((p) => p.kill("SIGKILL")));
    await mosquitto?.stop();
    await sqld?.stop();
    for (const d of [dir, ...Object.values(volumes)]) rmSync(d, { recursive: true, force: true });
  });

  it("the image's HEALTHCHECK passes on both replicas and fails where no hub listens", async () => {
    for (const h of hubs) expect(await healthcheck(image.root, image.stage, h.env)).toBe(0);
    expect(await healthcheck(image.root, image.stage, { ...hubs[0]!.env, OUTPOST_PORT: String(await freePort()) })).not.toBe(0);
  });

  it("both replicas serve the API and the dashboard from one database, with the admin token from the secret", async () => {
    const [one, two] = hubs.map((h) => new OperatorClient(h.url, adminToken));
    const { token } = await one!.createToken({ uses: 1, labels: { made: "on-hub-1" } });
    expect(token).toMatch(/^opt1/);
    expect(await two!.whoami()).toMatchObject({ actor: "user:admin", hubAdmin: true });
    for (const h of hubs) {
      const page = await fetch(`${h.url}/ui/login`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain("<form");
    }
    // The database really demands the JWT make-secrets.sh minted.
    expect((await fetch(`${sqld.url}/v2/pipeline`, { method: "POST", body: JSON.stringify({ requests: [{ type: "execute", stmt: { sql: "SELECT 1" } }] }) })).status).toBe(401);
  });

  it("an agent enrolled through hub-1 gets its bundle, issued on hub-1, through hub-2 and the broker", async () => {
    const [one, two] = hubs.map((h) => new OperatorClient(h.url, adminToken));
    const site = "compose-1";
    const stateDir = join(dir, "site");
    const { token } = await one!.createToken({ uses: 1 });
    const enroll = spawnOutpost("agent via hub-1", ["--hub", hubs[0]!.url, "agent", "start", "--site", site, "--state-dir", stateDir, "--enroll-token", token]);
    agents.push(enroll);
    await waitFor("the site to be pending on hub-2", async () => (await two!.listSites()).find((s) => s.name === site)?.status === "pending");
    // The hub stores the site before the agent stores the answer: kill it only once its state file has it.
    await waitFor("the agent to store its enrolment", async () => ((await readAgentStatus(stateDir).catch(() => null))?.enrollment ?? null) !== null);
    await enroll.kill();
    await two!.approveSite(site);

    // The site's agent now talks to hub-2 only, bundles over MQTT (the broker credential hub-2 provisions).
    const agent = spawnOutpost("agent via hub-2", ["--hub", hubs[1]!.url, "agent", "start", "--site", site, "--state-dir", stateDir],
      { OUTPOST_TRANSPORT: "mqtt", OUTPOST_HEAL_INTERVAL_SECONDS: "1", OUTPOST_REPORT_INTERVAL_SECONDS: "1" });
    agents.push(agent);
    await agent.waitForOutput(/outpost agent running/);
    await one!.createRelease(storeRelease("1.0"));
    await waitFor("the agent's broker login", async () => /New client connected .* as compose-1/.test(mosquitto.log()), 30_000);
    await one!.assign({ name: "store", version: "1.0" }, "");
    await waitDelivered(two!, [site], 1, "mqtt", 30_000);
    await waitFor("the site to apply v1", async () => {
      const s = await two!.getSite(site);
      return s.appliedVersion === 1 && s.state === "in-sync";
    }, 30_000);
  });

  it("one replica leads the rollouts (the lease row), and the documented /dump backup works with the hub's token", async () => {
    const dbToken = readFileSync(join(secrets, "sqld_token"), "utf8").trim();
    const db = createClient({ url: sqld.url, authToken: dbToken });
    try {
      const holder = await waitFor("a rollout lease holder", async () => (await db.execute("SELECT holder FROM leases WHERE name = 'rollouts'")).rows[0]?.holder as string | undefined);
      expect(hubs.map((h) => h.proc.child.pid)).toContain(Number(holder.split(":").at(-2)));
    } finally { db.close(); }
    const dump = await fetch(`${sqld.url}/dump`, { headers: { authorization: `Bearer ${dbToken}` } });
    expect(dump.status).toBe(200);
    const sql = await dump.text();
    expect(sql).toMatch(/CREATE TABLE [^\n]*sites/);
    expect(sql).toContain("compose-1");
  });
});
