import { and, asc, desc, eq } from "drizzle-orm";
import type { CryptoKey } from "jose";
import {
  importPrivate, newKeyPair, rootHash, signKeysDocument, signRootDocument,
  type GeneralJws, type KeysDocument, type RootDocument, type SigningKey, type TrustBundle,
} from "@outpost/shared";
import type { HubDb, Queryable } from "../db/client.ts";
import { signingKeys, trustDocuments } from "../db/schema.ts";
import { decodeKeys, decodeRoot, keysDocument, needsRenewal, rootDocument } from "./documents.ts";
import { loadRootKeys, removeRootKey, writeRootKey } from "./root-files.ts";

export interface KeyStoreOptions {
  dataDir: string;
  /** Size and threshold of the root key set made at first start. */
  rootKeys?: number;
  rootThreshold?: number;
}

export interface ActiveBundleKey extends SigningKey { privateKey: CryptoKey; keysVersion: number }

export class RootKeysUnavailable extends Error {
  constructor(have: number, need: number) {
    super(`only ${have} of the ${need} root keys needed are in <dataDir>/keys on this hub; sign with the offline root`);
    this.name = "RootKeysUnavailable";
  }
}

/**
 * The hub's keys: the root set (private halves as files, standing in for the offline root), the
 * online bundle-signing key (in the database, so replicas share it) and the signed trust documents.
 * Nothing is cached between calls except imported keys, so a rotation done by one replica is seen
 * by all of them at once.
 */
export class KeyStore {
  readonly #imported = new Map<string, CryptoKey>();

  constructor(private readonly hub: HubDb, private readonly opts: KeyStoreOptions) {}

  /** First start: make the root set, root v1, a bundle key and keys v1. Later: renew keys if expiring. */
  async init(now = new Date()): Promise<void> {
    if (await this.#latest(this.hub.db, "root")) {
      await this.renewKeysDocumentIfExpiring(now);
      return;
    }
    const n = this.opts.rootKeys ?? 1;
    const threshold = this.opts.rootThreshold ?? 1;
    const roots = await Promise.all(Array.from({ length: n }, () => newKeyPair()));
    const doc = rootDocument(1, threshold, roots);
    const signers: SigningKey[] = roots.map((k) => ({ kid: k.kid, privateKey: k.privateJwk }));
    const rootJws = await signRootDocument(doc, signers); // validates threshold <= n before any file is written
    for (const k of roots) writeRootKey(this.opts.dataDir, k.kid, k.privateJwk);
    const bundleKey = await newKeyPair();
    try {
      await this.hub.transaction(async (tx) => {
        await tx.insert(trustDocuments).values({ kind: "root", version: 1, jws: rootJws, createdAt: now });
        await tx.insert(signingKeys).values({
          kid: bundleKey.kid, role: "bundle", publicJwk: bundleKey.publicJwk, privateJwk: bundleKey.privateJwk, status: "active", createdAt: now,
        });
        await this.#signKeys(tx, decodeRoot(rootJws), now);
      });
    } catch (e) {
      // Another replica's first start got there first (or the write failed): these keys vouch for
      // nothing, and a private root key must not lie around for nothing.
      for (const k of roots) removeRootKey(this.opts.dataDir, k.kid);
      throw e;
    }
  }

  /** What GET /agent/v1/keys serves: every root in version order, then the newest keys document. */
  async trustBundle(q: Queryable = this.hub.db): Promise<TrustBundle> {
    const roots = await q.select().from(trustDocuments).where(eq(trustDocuments.kind, "root")).orderBy(asc(trustDocuments.version));
    const keys = await this.#latest(q, "keys");
    if (!roots.length || !keys) throw new Error("trust documents missing: KeyStore.init() has not run");
    return { roots: roots.map((r) => r.jws), keys: keys.jws };
  }

  async currentRoot(q: Queryable = this.hub.db): Promise<{ doc: RootDocument; jws: GeneralJws; hash: string }> {
    const row = await this.#latest(q, "root");
    if (!row) throw new Error("no root document: KeyStore.init() has not run");
    return { doc: decodeRoot(row.jws), jws: row.jws, hash: rootHash(row.jws) };
  }

  /** Hashes of every root ever current: a token made before a root rotation stays valid. */
  async rootHashes(q: Queryable = this.hub.db): Promise<string[]> {
    const rows = await q.select({ jws: trustDocuments.jws }).from(trustDocuments).where(eq(trustDocuments.kind, "root"));
    return rows.map((r) => rootHash(r.jws));
  }

  async currentKeys(q: Queryable = this.hub.db): Promise<{ doc: KeysDocument; jws: GeneralJws }> {
    const row = await this.#latest(q, "keys");
    if (!row) throw new Error("no keys document: KeyStore.init() has not run");
    return { doc: decodeKeys(row.jws), jws: row.jws };
  }

  /** The key new bundles are signed with, and the keys-document version that vouches for it. */
  async activeBundleKey(q: Queryable = this.hub.db): Promise<ActiveBundleKey> {
    const [row] = await q.select().from(signingKeys)
      .where(and(eq(signingKeys.role, "bundle"), eq(signingKeys.status, "active")))
      .orderBy(desc(signingKeys.createdAt)).limit(1);
    if (!row) throw new Error("no active bundle signing key");
    const { doc } = await this.currentKeys(q);
    let privateKey = this.#imported.get(row.kid);
    if (!privateKey) {
      privateKey = await importPrivate(row.privateJwk);
      this.#imported.set(row.kid, privateKey);
    }
    return { kid: row.kid, privateKey, keysVersion: doc.version };
  }

  /**
   * Root rotation N -> N+1: a new root set, its document signed by the old AND the new keys (agents
   * demand both thresholds), then the keys document re-signed under the new root.
   */
  async rotateRoot(opts: { keys?: number; threshold?: number } = {}, now = new Date()) {
    const current = await this.currentRoot();
    const oldSigners = await this.#rootSigners(current.doc);
    const n = opts.keys ?? current.doc.keys.length;
    const threshold = opts.threshold ?? current.doc.threshold;
    const roots = await Promise.all(Array.from({ length: n }, () => newKeyPair()));
    const doc = rootDocument(current.doc.version + 1, threshold, roots);
    const newSigners: SigningKey[] = roots.map((k) => ({ kid: k.kid, privateKey: k.privateJwk }));
    const jws = await signRootDocument(doc, [...oldSigners, ...newSigners]);
    // Files first: a root document in the database whose private keys were lost would strand us.
    for (const k of roots) writeRootKey(this.opts.dataDir, k.kid, k.privateJwk);
    const keysVersion = await this.hub.transaction(async (tx) => {
      await tx.insert(trustDocuments).values({ kind: "root", version: doc.version, jws, createdAt: now });
      return this.#signKeys(tx, decodeRoot(jws), now);
    });
    return { rootVersion: doc.version, rootHash: rootHash(jws), keysVersion };
  }

  /**
   * A new bundle key; the old one moves to `retired` (with the reason agents will report) so a
   * bundle it signs is refused from the next keys document on.
   */
  async rotateSigningKey(opts: { retireReason: string }, now = new Date()) {
    const root = await this.currentRoot();
    await this.#rootSigners(root.doc); // fail before changing anything if the root is not here
    const next = await newKeyPair();
    return this.hub.transaction(async (tx) => {
      const retired = await tx.update(signingKeys)
        .set({ status: "retired", retiredReason: opts.retireReason.slice(0, 256), retiredAt: now })
        .where(and(eq(signingKeys.role, "bundle"), eq(signingKeys.status, "active")))
        .returning({ kid: signingKeys.kid });
      await tx.insert(signingKeys).values({
        kid: next.kid, role: "bundle", publicJwk: next.publicJwk, privateJwk: next.privateJwk, status: "active", createdAt: now,
      });
      const keysVersion = await this.#signKeys(tx, root.doc, now);
      return { kid: next.kid, retired: retired.map((r) => r.kid), keysVersion };
    });
  }

  /** Re-signs the keys document (version + 1) when it is within 30 days of expiry. */
  async renewKeysDocumentIfExpiring(now = new Date()): Promise<boolean> {
    const { doc } = await this.currentKeys();
    if (!needsRenewal(doc, now)) return false;
    const root = await this.currentRoot();
    await this.#rootSigners(root.doc);
    await this.hub.transaction((tx) => this.#signKeys(tx, root.doc, now));
    return true;
  }

  async #latest(q: Queryable, kind: "root" | "keys") {
    const [row] = await q.select().from(trustDocuments).where(eq(trustDocuments.kind, kind)).orderBy(desc(trustDocuments.version)).limit(1);
    return row;
  }

  /** The root keys present here, if they reach the threshold. */
  async #rootSigners(root: RootDocument): Promise<SigningKey[]> {
    const signers = await loadRootKeys(this.opts.dataDir, root.keys.map((k) => k.kid));
    if (signers.length < root.threshold) throw new RootKeysUnavailable(signers.length, root.threshold);
    return signers;
  }

  /** Signs and stores the next keys document from the signing_keys table; returns its version. */
  async #signKeys(tx: Queryable, root: RootDocument, now: Date): Promise<number> {
    const prev = await this.#latest(tx, "keys");
    const version = (prev ? decodeKeys(prev.jws).version : 0) + 1;
    const rows = await tx.select().from(signingKeys).where(eq(signingKeys.role, "bundle")).orderBy(asc(signingKeys.createdAt));
    const jws = await signKeysDocument(keysDocument(version, rows, now), await this.#rootSigners(root));
    await tx.insert(trustDocuments).values({ kind: "keys", version, jws, createdAt: now });
    return version;
  }
}
