import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { setMaxListeners } from "node:events";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, type MqttClient } from "@outpost/agent/sync/mqtt/client";
import {
  AgentClient, MqttTopics, OperatorClient, importPrivate, newKeyPair, parseEnrollmentToken, pinRoot, rootHash, updateTrust, verifyBundle,
  type TrustState,
} from "@outpost/shared";
import { storeRelease } from "../test/lib/releases.ts";
import { spawnOutpost } from "../test/lib/processes.ts";
import { argValue, machine } from "./lib.ts";

/**
 * `pnpm bench notify --sites N`: time from `release assign` to 100% of N sites holding (and having
 * verified) the new bundle, over MQTT (the hub's embedded broker) and over the HTTPS long-poll, in one
 * run against one hub process; and the hub's memory (hub + embedded broker) per connected site.
 *
 * The sites are light clients in this process, not whole agents (5000 full agents with their state
 * files do not fit two cores): each is a real mqtt.js connection logging in with its own fresh JWT
 * (clean: false, QoS 1), or a real AgentClient long-poll, and every bundle it gets goes through
 * shared verifyBundle against the trust it pinned at enrollment, as the agent's intake does.
 */
export async function benchNotify(args: string[]): Promise<void> {
  const n = argValue(args, "sites", 1000);
  const dir = mkdtempSync(join(tmpdir(), "outpost-bench-notify-"));
  const adminToken = `opa_${randomBytes(32).toString("base64url")}`;
  const hub = spawnOutpost("hub", ["hub", "start", "--data-dir", dir, "--port", "0"], {
    OUTPOST_ADMIN_TOKEN: adminToken, OUTPOST_LOG_LEVEL: "error", OUTPOST_MQTT_PORT: "0", OUTPOST_MQTT_WS_PORT: "off", OUTPOST_ROLLOUT_TICK_SECONDS: "0",
  });
  const clients: MqttClient[] = [];
  try {
    const url = (await hub.waitForOutput(/outpost hub listening on (\S+)/))[1]!;
    const brokerUrl = (await hub.waitForOutput(/mqtt broker \(embedded\): (mqtt:\/\/\S+)/))[1]!;
    const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${hub.child.pid}/status`, "utf8"))![1]) * 1024;
    const op = new OperatorClient(url, adminToken);
    console.log(`bench notify: ${machine()}; ${n} sites, one hub process with its embedded broker`);

    // Enrollment: one key pair per site, the root pinned from the token, like the agent.
    let t = performance.now();
    const { token } = await op.createToken({ autoApprove: true, uses: n, expiresInHours: 2 });
    const pinned = parseEnrollmentToken(token).rootHash;
    const served = await new AgentClient(url, "x", (await importPrivate((await newKeyPair()).privateJwk))).keys();
    const root = pinRoot(served.roots.find((r) => rootHash(r) === pinned), pinned);
    const sites: { name: string; client: AgentClient; trust: TrustState }[] = [];
    for (let i = 0; i < n; i += 100) {
      sites.push(...await Promise.all(Array.from({ length: Math.min(100, n - i) }, async (_, j) => {
        const name = `bn-${String(i + j).padStart(5, "0")}`;
        const keys = await newKeyPair();
        const client = new AgentClient(url, name, await importPrivate(keys.privateJwk));
        await client.enroll({ token, site: name, publicKey: keys.publicJwk });
        return { name, client, trust: await updateTrust({ site: name, root, keys: null, bundleVersion: 0 }, served, new Date()) };
      })));
    }
    await op.createRelease(storeRelease("1.0"));
    await op.createRelease(storeRelease("1.1"));
    console.log(`  enrolled ${n} sites in ${((performance.now() - t) / 1000).toFixed(1)} s`);

    // Holds a verified version per site; resolves when all N hold `version`.
    const holding = new Map<string, number>();
    const verify = async (s: (typeof sites)[number], jws: string) => {
      const { payload, state } = await verifyBundle(s.trust, jws, new Date());
      s.trust = state;
      holding.set(s.name, payload.version);
    };
    const allAt = (version: number, timeoutMs: number) => new Promise<number>((resolve, reject) => {
      const start = performance.now();
      const tick = setInterval(() => {
        let k = 0;
        for (const v of holding.values()) if (v >= version) k++;
        if (k === n) { clearInterval(tick); resolve(performance.now() - start); }
        if (performance.now() - start > timeoutMs) { clearInterval(tick); reject(new Error(`only ${k}/${n} sites hold v${version} after ${timeoutMs} ms`)); }
      }, 5);
    });

    // --- MQTT: N persistent sessions on the embedded broker ---------------------------------------
    const rssBefore = rss();
    t = performance.now();
    for (let i = 0; i < n; i += 200) {
      await Promise.all(sites.slice(i, i + 200).map(async (s) => {
        const c = connect(brokerUrl, { clientId: s.name, username: s.name, password: await s.client.token(), clean: false, reconnectPeriod: 0, protocolVersion: 4, keepalive: 60 });
        clients.push(c);
        c.on("message", (_topic: string, payload: Buffer) => { void verify(s, payload.toString("utf8")).catch(() => {}); });
        await new Promise<void>((res, rej) => { c.once("connect", () => res()); c.once("error", rej); });
        await c.subscribeAsync(MqttTopics.bundle(s.name), { qos: 1 });
      }));
    }
    const connectMs = performance.now() - t;
    await new Promise((r) => setTimeout(r, 1000));
    const rssMqtt = rss();
    t = performance.now();
    await op.assign({ name: "store", version: "1.0" }, "");
    const mqttAssign = performance.now() - t;
    await allAt(1, 120_000);
    const mqttTotal = performance.now() - t;
    await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));

    // --- HTTPS: N long-polls held by the hub -------------------------------------------------------
    const ac = new AbortController();
    setMaxListeners(0, ac.signal); // one signal ends all N long-polls
    const polls = sites.map(async (s) => {
      while (!ac.signal.aborted) {
        try {
          const a = await s.client.bundle(holding.get(s.name) ?? 0, 60, ac.signal);
          if (a.status === 200) await verify(s, a.jws);
        } catch { if (!ac.signal.aborted) await new Promise((r) => setTimeout(r, 200)); }
      }
    });
    await new Promise((r) => setTimeout(r, Math.max(3000, n))); // every long-poll reaches the hub and is held
    const rssHttps = rss();
    t = performance.now();
    await op.assign({ name: "store", version: "1.1" }, "");
    const httpsAssign = performance.now() - t;
    await allAt(2, 120_000);
    const httpsTotal = performance.now() - t;
    ac.abort();
    await Promise.allSettled(polls);

    const mb = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
    console.log(`  ${"transport".padEnd(26)} assign -> 100% of ${n} sites hold the new, verified bundle`);
    console.log(`  ${"MQTT (embedded aedes)".padEnd(26)} ${(mqttTotal / 1000).toFixed(2)} s   (of which the assign call, signing ${n} bundles: ${(mqttAssign / 1000).toFixed(2)} s; connecting ${n} sessions took ${(connectMs / 1000).toFixed(1)} s)`);
    console.log(`  ${"HTTPS long-poll".padEnd(26)} ${(httpsTotal / 1000).toFixed(2)} s   (of which the assign call: ${(httpsAssign / 1000).toFixed(2)} s)`);
    console.log("  (sites, hub and broker share this machine's cores: the figures include the sites' own verification work)");
    console.log(`  hub RSS: ${mb(rssBefore)} idle, ${mb(rssMqtt)} with ${n} MQTT sessions (${((rssMqtt - rssBefore) / n / 1024).toFixed(1)} KiB per site, hub + broker),`
      + ` ${mb(rssHttps)} with ${n} long-polls held`);
  } finally {
    await Promise.all(clients.map((c) => c.endAsync(true).catch(() => {})));
    await hub.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}
