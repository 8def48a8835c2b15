import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  pinRoot, signBundle, Spec, updateTrust, verifyBundle, VerifyError,
  type SigningKey, type TrustBundle, type TrustState,
} from "@outpost/shared";
import { bundlePayload } from "../bundles/plan.ts";
import { openDb, type HubDb } from "../db/client.ts";
import { migrateDb } from "../db/migrate.ts";
import { tempDir, snapshotDb } from "../test-support/harness.ts";
import { KeyStore, RootKeysUnavailable } from "./keystore.ts";

const open: { db: HubDb; dir: string }[] = [];
afterEach(() => {
  for (const o of open.splice(0)) { o.db.close(); fs.rmSync(o.dir, { recursive: true, force: true }); }
});

async function store(opts: { rootKeys?: number; rootThreshold?: number } = {}, now = new Date()) {
  const dir = tempDir();
  const db = await openDb({ url: `file:${path.join(dir, "hub.db")}` });
  open.push({ db, dir });
  await migrateDb(db);
  const keys = new KeyStore(db, { dataDir: dir, ...opts });
  await keys.init(now);
  return { dir, db, keys };
}

/** An agent that enrolled with a token pinning `hash`, then fetched /keys. */
async function agentFrom(served: TrustBundle, hash: string, site = "s1", now = new Date()): Promise<TrustState> {
  const root = served.roots.map((r) => { try { return pinRoot(r, hash); } catch { return null; } }).find(Boolean)!;
  return updateTrust({ site, root, keys: null, bundleVersion: 0 }, served, now);
}

/** A bundle signed by the active key, or by `signer` claiming keys version `keysVersion`. */
async function bundleFor(keys: KeyStore, site: string, version: number, signer?: { key: SigningKey; keysVersion: number }) {
  const { key, keysVersion } = signer ?? { key: await keys.activeBundleKey(), keysVersion: (await keys.activeBundleKey()).keysVersion };
  return signBundle(bundlePayload({
    site, version, now: new Date(), ttlHours: 24, keysVersion,
    release: { name: "web", version: "1", spec: Spec.parse({}), artifacts: [] },
  }), key);
}

describe("KeyStore.init", () => {
  it("writes each root private key as a 0600 file and serves documents an agent accepts", async () => {
    const { dir, keys } = await store({ rootKeys: 3, rootThreshold: 2 });
    const root = await keys.currentRoot();
    expect(root.doc).toMatchObject({ version: 1, threshold: 2 });
    expect(root.doc.keys).toHaveLength(3);
    for (const k of root.doc.keys) {
      const file = path.join(dir, "keys", `root-${k.kid}.jwk`);
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
      expect(JSON.parse(fs.readFileSync(file, "utf8"))).toHaveProperty("d"); // the private half
    }
    const trust = await agentFrom(await keys.trustBundle(), root.hash);
    expect(trust.keys?.version).toBe(1);
    expect(trust.keys?.keys[0]?.roles).toEqual(["bundle"]);
    const { payload } = await verifyBundle(trust, await bundleFor(keys, "s1", 1), new Date());
    expect(payload.version).toBe(1);
  });

  it("keeps its keys across restarts (same root, no new documents)", async () => {
    const { db, dir, keys } = await store();
    const before = await snapshotDb(db);
    const again = new KeyStore(db, { dataDir: dir });
    await again.init();
    expect((await again.currentRoot()).hash).toBe((await keys.currentRoot()).hash);
    expect(await snapshotDb(db)).toEqual(before);
  });

  it("re-signs the keys document when it is within 30 days of expiry", async () => {
    const { db, dir, keys } = await store();
    const expires = Date.parse((await keys.currentKeys()).doc.expiresAt);
    const later = new Date(expires - 10 * 24 * 3600 * 1000);
    await new KeyStore(db, { dataDir: dir }).init(later);
    const renewed = await keys.currentKeys();
    expect(renewed.doc.version).toBe(2);
    // An agent living at that later date accepts it, and keeps the same signing key.
    const trust = await agentFrom(await keys.trustBundle(), (await keys.currentRoot()).hash, "s1", later);
    expect(trust.keys?.keys.map((k) => k.kid)).toEqual(renewed.doc.keys.map((k) => k.kid));
  });
});

describe("KeyStore.rotateRoot", () => {
  it("root N+1 is signed by old and new keys, and an agent pinned to the old root follows it", async () => {
    const { dir, keys } = await store({ rootKeys: 2, rootThreshold: 2 });
    const oldHash = (await keys.currentRoot()).hash;
    const before = await agentFrom(await keys.trustBundle(), oldHash);
    const rotated = await keys.rotateRoot();
    expect(rotated).toMatchObject({ rootVersion: 2, keysVersion: 2 });
    expect(await keys.rootHashes()).toEqual(expect.arrayContaining([oldHash, rotated.rootHash]));

    const after = await updateTrust(before, await keys.trustBundle(), new Date());
    expect(after.root.version).toBe(2);
    expect(after.keys?.version).toBe(2);
    // A fresh agent pinned to the old root (a token made before the rotation) walks forward too.
    expect((await agentFrom(await keys.trustBundle(), oldHash)).root.version).toBe(2);
    // The new root's private keys are on disk for the next rotation; the old ones are kept.
    const files = fs.readdirSync(path.join(dir, "keys"));
    expect(files).toHaveLength(4);
    await verifyBundle(after, await bundleFor(keys, "s1", 1), new Date());
  });
});

describe("KeyStore.rotateSigningKey", () => {
  it("retires the old bundle key: agents refuse what it signs, accept the new key", async () => {
    const { keys } = await store();
    const hash = (await keys.currentRoot()).hash;
    const old = await keys.activeBundleKey();
    const rotated = await keys.rotateSigningKey({ retireReason: "laptop stolen" });
    expect(rotated).toMatchObject({ retired: [old.kid], keysVersion: 2 });

    const trust = await agentFrom(await keys.trustBundle(), hash);
    expect(trust.keys?.retired).toEqual([{ kid: old.kid, reason: "laptop stolen" }]);
    const byOld = await bundleFor(keys, "s1", 1, { key: old, keysVersion: 1 });
    await expect(verifyBundle(trust, byOld, new Date())).rejects.toMatchObject({ code: "BUNDLE_RETIRED_KEY" });
    await expect(verifyBundle(trust, byOld, new Date())).rejects.toBeInstanceOf(VerifyError);
    const byNew = await verifyBundle(trust, await bundleFor(keys, "s1", 1), new Date());
    expect(byNew.kid).toBe(rotated.kid);
  });

  it("changes nothing when the root keys are not on this hub (production: the root is offline)", async () => {
    const { db, dir, keys } = await store();
    fs.rmSync(path.join(dir, "keys"), { recursive: true });
    const before = await snapshotDb(db);
    await expect(keys.rotateSigningKey({ retireReason: "routine" })).rejects.toBeInstanceOf(RootKeysUnavailable);
    expect(await snapshotDb(db)).toEqual(before);
  });
});
