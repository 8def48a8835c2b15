// Proves the daemon harnesses (OVN, Mosquitto, LXD, Ceph, sqld): each real daemon starts, answers a real request, and stops leaving no
// process behind. A daemon that is not installed FAILS its test with a message naming
// test/daemons/install.sh; nothing here is skipped.
import { readFileSync, rmSync } from "node:fs";
import { randomInt } from "node:crypto";
import { describe, expect, it } from "vitest";
import * as ceph from "./ceph.ts";
import { buildBusyboxImage, cleanupLxd, ensureLxd, importImage, LxdError, lxdDaemonPids, lxdGet, lxdOperation, lxdRequest, shutdownLxd } from "./lxd.ts";
import * as mosquitto from "./mosquitto.ts";
import * as ovn from "./ovn.ts";
import * as sqld from "./sqld.ts";
import { freePort, isAlive, processesMatching, requireInstalled, run, runStatus, tempDir, waitFor } from "./util.ts";

function expectGone(pids: (number | undefined)[], dir: string) {
  for (const pid of pids) expect(pid !== undefined && isAlive(pid), `pid ${pid} still alive`).toBe(false);
  expect(processesMatching(dir)).toEqual([]);
}

describe("helpers", () => {
  it("freePort gives a bindable loopback port; waitFor fails with what it last saw", async () => {
    const port = await freePort();
    expect(port).toBeGreaterThan(0);
    await expect(waitFor("never", () => 0, { timeoutMs: 100, everyMs: 10 })).rejects.toThrow(/timed out after 100 ms waiting for never; last: 0/);
    await expect(waitFor("abort", () => 0, { abortIf: () => "it died" })).rejects.toThrow(/it died/);
    expect(await waitFor("value", async () => 42)).toBe(42);
  });

  it("a missing daemon fails loudly and names the installer", () => {
    expect(() => requireInstalled("Thing", ["no-such-daemon-binary"])).toThrow(/Thing is not installed \(missing: no-such-daemon-binary\).*bash test\/daemons\/install\.sh/);
  });
});

describe("OVN", () => {
  it("NB + SB + northd start, ovn-nbctl ls-add then list, stop by PID", async () => {
    const h = await ovn.start({ northd: true, tcp: true });
    try {
      expect(h.nbRemote).toBe(`unix:${h.nbSocket}`);
      await h.nbctl("ls-add", "sw0");
      await h.nbctl("--wait=sb", "ls-add", "sw1"); // returns once northd has copied it into SB
      expect((await h.nbctl("ls-list")).trim().split("\n").map((l) => l.replace(/^\S+ \((.*)\)$/, "$1")).sort()).toEqual(["sw0", "sw1"]);
      // The raw OVSDB view, over TCP this time; "_uuid" is in the columns so identical rows are never merged.
      const out = (await run("ovsdb-client", ["transact", h.nbTcpRemote!, JSON.stringify(["OVN_Northbound", { op: "select", table: "Logical_Switch", where: [], columns: ["_uuid", "name"] }])])).stdout;
      const rows = (JSON.parse(out) as { rows: { name: string }[] }[])[0]!.rows;
      expect(rows.map((r) => r.name).sort()).toEqual(["sw0", "sw1"]);
      const sb = (await run("ovsdb-client", ["transact", h.sbRemote!, JSON.stringify(["OVN_Southbound", { op: "select", table: "Datapath_Binding", where: [], columns: ["_uuid", "external_ids"] }])])).stdout;
      expect((JSON.parse(sb) as { rows: unknown[] }[])[0]!.rows).toHaveLength(2);
    } finally {
      await h.stop();
    }
    expectGone([h.pids.nb, h.pids.sb, h.pids.northd], h.dir);
  }, 30_000);
});

describe("Mosquitto", () => {
  const sub = (h: mosquitto.MosquittoHandle, id: string, topic: string, auth: string[] = []) =>
    run("mosquitto_sub", ["-h", h.host, "-p", String(h.port), "-i", id, ...auth, "-t", topic, "-C", "1", "-W", "10"]);
  // With `log_type subscribe`, the broker logs "<client id> <qos> <topic>" once the subscription is live.
  const subscribed = (h: mosquitto.MosquittoHandle, id: string, topic: string) =>
    waitFor(`${id} subscribed`, () => readFileSync(h.logFile, "utf8").includes(`${id} 0 ${topic}`), { timeoutMs: 5_000, everyMs: 20 });

  it("anonymous broker with a config snippet: publish/subscribe, runs as user mosquitto, stop by PID", async () => {
    const h = await mosquitto.start({ config: "log_type subscribe" });
    try {
      expect(h.url).toBe(`mqtt://127.0.0.1:${h.port}`);
      const got = sub(h, "sub-1", "outpost/test");
      await subscribed(h, "sub-1", "outpost/test");
      await run("mosquitto_pub", ["-h", h.host, "-p", String(h.port), "-t", "outpost/test", "-m", "hello"]);
      expect((await got).stdout.trim()).toBe("hello");
      if (process.getuid?.() === 0) { // started as root, it dropped to the mosquitto user (hence the chowned dir)
        const uid = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${h.pid}/status`, "utf8"))?.[1];
        expect(uid).toBeDefined();
        expect(uid).not.toBe("0");
      }
    } finally {
      await h.stop();
    }
    expectGone([h.pid], h.dir);
  }, 30_000);

  it("dynamic security: unauthorised and anonymous clients are refused, a client given a role gets through", async () => {
    const h = await mosquitto.start({ dynsec: { adminUser: "admin", adminPassword: "admin-pw" }, config: "log_type subscribe" });
    try {
      for (const auth of [["-u", "mallory", "-P", "guess"], ["-u", "admin", "-P", "wrong"], []]) {
        const r = await runStatus("mosquitto_pub", ["-h", h.host, "-p", String(h.port), ...auth, "-t", "outpost/x", "-m", "x"]);
        expect(r.code, `pub ${auth.join(" ")}`).not.toBe(0);
        expect(r.stderr).toMatch(/not authori[sz]ed/i);
      }
      const ctrl = h.dynsec!.ctrl;
      await ctrl("createClient", "alice", "-p", "alice-pw");
      await ctrl("createRole", "outpost-rw");
      await ctrl("addRoleACL", "outpost-rw", "publishClientSend", "outpost/#", "allow");
      await ctrl("addRoleACL", "outpost-rw", "subscribePattern", "outpost/#", "allow");
      await ctrl("addClientRole", "alice", "outpost-rw");
      const alice = ["-u", "alice", "-P", "alice-pw"];
      const got = sub(h, "alice-sub", "outpost/a", alice);
      await subscribed(h, "alice-sub", "outpost/a");
      await run("mosquitto_pub", ["-h", h.host, "-p", String(h.port), ...alice, "-t", "outpost/a", "-m", "hi"]);
      expect((await got).stdout.trim()).toBe("hi");
    } finally {
      await h.stop();
    }
    expectGone([h.pid], h.dir);
  }, 30_000);

  it("a broker that cannot start fails with its log tail", async () => {
    await expect(mosquitto.start({ config: "no_such_option 1" })).rejects.toThrow(/mosquitto failed to start[\s\S]*log tail[\s\S]*no_such_option/);
  }, 30_000);
});

describe("LXD", () => {
  // Fixed, so a run that crashed half-way is cleaned up by the next one. Network names must fit in 15 chars.
  const prefix = "otd-";

  it("GET /1.0 over the unix socket, import a busybox image, launch, start and delete a container, clean up", async () => {
    const lxd = await ensureLxd();
    const imageDir = tempDir("lxd-image");
    try {
      await cleanupLxd(prefix);
      const server = (await lxdRequest<{ api_version: string; environment: { server: string; storage: string } }>("GET", "/1.0")).metadata;
      expect(server.api_version).toBe("1.0");
      expect(server.environment.server).toBe("lxd");

      const image = await buildBusyboxImage(imageDir);
      expect(image.size).toBeGreaterThan(500_000);
      expect(image.size).toBeLessThan(3_000_000);
      const fingerprint = await importImage(image.path, { aliases: [`${prefix}busybox`], properties: { name: `${prefix}busybox` } });
      expect(fingerprint).toBe(image.sha256);

      const name = `${prefix}c1`;
      await lxdOperation("POST", "/1.0/instances", { name, type: "container", source: { type: "image", alias: `${prefix}busybox` }, config: { "limits.memory": "64MB" } });
      await lxdOperation("PUT", `/1.0/instances/${name}/state`, { action: "start", timeout: 30 });
      const state = await lxdGet<{ status: string; pid: number }>(`/1.0/instances/${name}/state`);
      expect(state.status).toBe("Running");
      expect(isAlive(state.pid)).toBe(true);
      // A duplicate create fails inside the operation, and the error comes back as an LxdError.
      await expect(lxdOperation("POST", "/1.0/instances", { name, type: "container", source: { type: "image", alias: `${prefix}busybox` } })).rejects.toThrow(LxdError);

      await lxdOperation("PUT", `/1.0/instances/${name}/state`, { action: "stop", force: true });
      await lxdOperation("DELETE", `/1.0/instances/${name}`);
      await expect(lxdGet(`/1.0/instances/${name}`)).rejects.toThrow(/404 .*not found/i);
      expect(isAlive(state.pid)).toBe(false);

      // What cleanupLxd removes: a running container, the image, a profile, a bridge (needs nftables,
      // iptables, dnsmasq), a custom volume.
      await lxdOperation("POST", "/1.0/instances", { name: `${prefix}c2`, type: "container", source: { type: "image", alias: `${prefix}busybox` } });
      await lxdOperation("PUT", `/1.0/instances/${prefix}c2/state`, { action: "start", timeout: 30 });
      await lxdRequest("POST", "/1.0/profiles", { name: `${prefix}profile`, config: {}, devices: {} });
      await lxdRequest("POST", "/1.0/networks", { name: `${prefix}br0`, config: { "ipv4.address": `10.213.${randomInt(10, 250)}.1/24`, "ipv4.nat": "false", "ipv6.address": "none" } });
      await lxdRequest("POST", "/1.0/storage-pools/default/volumes/custom", { name: `${prefix}vol`, config: {} });
      const report = await cleanupLxd(prefix);
      expect(report).toEqual({ instances: [`${prefix}c2`], images: [fingerprint], profiles: [`${prefix}profile`], networks: [`${prefix}br0`], storagePools: [], volumes: [`default/${prefix}vol`] });
      expect(processesMatching(prefix)).toEqual([]); // no container monitor, no dnsmasq left
      expect(await cleanupLxd(prefix)).toEqual({ instances: [], images: [], profiles: [], networks: [], storagePools: [], volumes: [] });
    } finally {
      rmSync(imageDir, { recursive: true, force: true });
      await cleanupLxd(prefix).catch(() => undefined);
      // LXD is shared by the machine: only the test that started it shuts it down.
      if (lxd.startedHere) expect(await shutdownLxd({ ifIdle: true })).toBe(true);
    }
    if (lxd.startedHere) {
      expect(lxdDaemonPids()).toEqual([]);
      expect(lxd.pid === undefined || !isAlive(lxd.pid)).toBe(true);
    }
  }, 60_000);
});

describe("Ceph", () => {
  it("mon + mgr + memstore OSD reach HEALTH_OK; create a pool and an RBD image, list them as JSON; stop by PID", async () => {
    const h = await ceph.start();
    try {
      const status = await h.cephJson<{ health: { status: string }; osdmap: { num_up_osds: number } }>("-s");
      expect(status.health.status).toBe("HEALTH_OK");
      expect(status.osdmap.num_up_osds).toBe(1);
      await run("ceph", ["osd", "pool", "create", "otd-rbd", "8"], { env: h.env });
      await run("rbd", ["pool", "init", "otd-rbd"], { env: h.env });
      await run("rbd", ["-c", h.conf, "create", "--size", "64M", "otd-rbd/disk1"]);
      const pools = await h.cephJson<string[]>("osd", "pool", "ls");
      expect(pools).toContain("otd-rbd");
      const images = JSON.parse((await run("rbd", ["-c", h.conf, "ls", "-l", "--format", "json", "otd-rbd"])).stdout) as { image: string; size: number }[];
      expect(images).toEqual([expect.objectContaining({ image: "disk1", size: 64 * 1024 * 1024 })]);
    } finally {
      await h.stop();
    }
    expectGone([h.pids.mon, h.pids.mgr, h.pids.osd], h.dir);
  }, 90_000);
});

describe("sqld", () => {
  it("libSQL server answers the Hrana HTTP pipeline; stop by PID", async () => {
    const h = await sqld.start();
    try {
      const stmt = (sql: string) => ({ type: "execute", stmt: { sql } });
      const res = await fetch(`${h.url}/v2/pipeline`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ requests: [stmt("create table t (x integer)"), stmt("insert into t values (41 + 1)"), stmt("select x from t"), { type: "close" }] }),
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { results: { type: string; response?: { result?: { rows: { value: string }[][] } } }[] };
      expect(body.results.map((r) => r.type)).toEqual(["ok", "ok", "ok", "ok"]);
      expect(body.results[2]!.response!.result!.rows[0]![0]!.value).toBe("42");
    } finally {
      await h.stop();
    }
    expectGone([h.pid], h.dir);
  }, 30_000);
});
