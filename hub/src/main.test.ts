import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { OperatorClient } from "@outpost/shared";
import { startHub, type RunningHub } from "./main.ts";
import { enrolledSite, startTestHub, tempDir } from "./test-support/harness.ts";

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => { for (const f of cleanup.splice(0).reverse()) await f(); });

function dir(): string {
  const d = tempDir();
  cleanup.push(async () => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}
async function start(dataDir: string, extra: Partial<Parameters<typeof startHub>[0]> = {}): Promise<RunningHub> {
  const hub = await startHub({ dataDir, port: 0, logLevel: "silent", ...extra });
  cleanup.push(() => hub.close());
  return hub;
}
/** Every byte the database has on disk (main file and write-ahead log). */
function dbBytes(d: string): Buffer {
  return Buffer.concat(fs.readdirSync(d).filter((f) => f.startsWith("hub.db")).map((f) => fs.readFileSync(path.join(d, f))));
}

describe("startHub", () => {
  it("returns the admin token on the first start only, and stores it only as a hash", async () => {
    const d = dir();
    const first = await start(d);
    expect(first.adminToken).toMatch(/^opa_[A-Za-z0-9_-]{43}$/);
    const token = first.adminToken!;
    expect(first.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    await new OperatorClient(first.url, token).listSites();
    await first.close();

    const second = await start(d);
    expect(second.adminToken).toBeNull();
    expect(second.rootHash).toBe(first.rootHash);
    await new OperatorClient(second.url, token).listSites(); // still valid after the restart
    await second.close();
    expect(dbBytes(d).includes(token)).toBe(false);
    expect(dbBytes(d).includes(token.slice(4))).toBe(false);
  });

  it("takes the admin token from the options (automation) and refuses others", async () => {
    const d = dir();
    const hub = await start(d, { adminToken: "opa_fixed-token-for-ci-0123456789" });
    expect(hub.adminToken).toBe("opa_fixed-token-for-ci-0123456789");
    await new OperatorClient(hub.url, "opa_fixed-token-for-ci-0123456789").listSites();
    await expect(new OperatorClient(hub.url, "opa_other-token-0123456789").listSites()).rejects.toMatchObject({ status: 401 });
  });

  it("keeps sites, bundles and keys across a restart", async () => {
    const t = await startTestHub();
    cleanup.push(() => t.stop());
    const site = await enrolledSite(t, "site-a", { labels: { region: "eu" } });
    await t.op.createRelease({ name: "web", version: "1", spec: {} });
    await t.op.assign({ name: "web", version: "1" }, "region=eu");
    const keysBefore = await site.client.keys();
    await t.hub.close();

    const again = await start(t.dir);
    const op = new OperatorClient(again.url, t.hub.adminToken!);
    expect(await op.getSite("site-a")).toMatchObject({ status: "approved", bundleVersion: 1 });
    const res = await fetch(`${again.url}/agent/v1/keys`);
    expect(await res.json()).toEqual(keysBefore);
  });

  it("close() answers held long-polls at once instead of waiting out their `wait`", async () => {
    const t = await startTestHub();
    cleanup.push(() => t.stop());
    const site = await enrolledSite(t, "site-a");
    const poll = site.client.bundle(0, 60).catch((e: Error) => e);
    await new Promise((r) => setTimeout(r, 200));
    const started = Date.now();
    await t.hub.close();
    expect(Date.now() - started).toBeLessThan(2000);
    expect(await poll).toEqual({ status: 204 });
  });

  it("issues bundles that live bundleTtlHours, or OUTPOST_BUNDLE_TTL_SECONDS from the environment", async () => {
    const lifetime = async (t: Awaited<ReturnType<typeof startTestHub>>) => {
      const site = await enrolledSite(t, "site-a");
      await t.op.createRelease({ name: "web", version: "1", spec: {} });
      await t.op.assign({ name: "web", version: "1" }, "");
      const got = await site.client.bundle(0, 0);
      if (got.status !== 200) throw new Error("no bundle");
      const p = JSON.parse(Buffer.from(got.jws.split(".")[1]!, "base64url").toString()) as { issuedAt: string; expiresAt: string };
      return (Date.parse(p.expiresAt) - Date.parse(p.issuedAt)) / 1000;
    };
    const byOption = await startTestHub({ bundleTtlHours: 2 });
    cleanup.push(() => byOption.stop());
    expect(await lifetime(byOption)).toBe(7200);
    process.env.OUTPOST_BUNDLE_TTL_SECONDS = "4";
    try {
      const byEnv = await startTestHub();
      cleanup.push(() => byEnv.stop());
      expect(await lifetime(byEnv)).toBe(4);
      process.env.OUTPOST_BUNDLE_TTL_SECONDS = "soon";
      await expect(startTestHub()).rejects.toThrow(/OUTPOST_BUNDLE_TTL_SECONDS/);
    } finally {
      delete process.env.OUTPOST_BUNDLE_TTL_SECONDS;
    }
  });

  it("accepts a databaseUrl of its own choosing", async () => {
    const d = dir();
    const elsewhere = path.join(dir(), "other.db");
    const hub = await start(d, { databaseUrl: `file:${elsewhere}` });
    expect(fs.existsSync(elsewhere)).toBe(true);
    expect(fs.existsSync(path.join(d, "hub.db"))).toBe(false);
    await hub.close();
  });
});

describe("listening under a reconnect storm", () => {
  /** The accept queue the kernel gives a listening port (ss: Send-Q of a LISTEN socket). */
  const backlogOf = (url: string) => {
    const port = new URL(url).port;
    const line = execFileSync("ss", ["-Hltn", `sport = :${port}`]).toString().trim();
    return Number(line.split(/\s+/)[2]);
  };
  it("the HTTP API and the embedded broker queue up to 4096 connections (the kernel's somaxconn), not Node's 511", async () => {
    const hub = await start(dir(), { mqttPort: 0, mqttWsPort: null });
    const somaxconn = Number(fs.readFileSync("/proc/sys/net/core/somaxconn", "utf8"));
    const want = Math.min(4096, somaxconn);
    expect(backlogOf(hub.url)).toBe(want);
    const mqtt = hub.mqtt!.urls.find((u) => u.startsWith("mqtt://"))!;
    expect(backlogOf(mqtt.replace(/^mqtt:/, "http:"))).toBe(want);
  });
});
