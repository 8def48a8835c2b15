/**
 * Test fixtures for anything that signs or verifies bundles: a real Ed25519 root key set, a signed
 * root and keys document, the TrustState an enrolled agent would hold, and a bundle signer.
 * Real crypto throughout (no mocks), so tests in hub/, agent/ and test/ can reuse it as is:
 *
 *   const t = await makeTrustFixture({ rootKeys: 3, threshold: 2, site: "edge-1" });
 *   const jws = await t.bundle({ version: 7 });
 *   await verifyBundle(t.state, jws, t.now);
 */
import type { z } from "zod";
import { API_VERSION, type BundlePayloadInput } from "../bundle/payload.ts";
import type { SpecInput } from "../bundle/spec.ts";
import type { GeneralJws, KeysDocument, RootDocument, TrustBundle } from "./documents.ts";
import { importPrivate, newKeyPair, type KeyPairJwk, type SigningKey } from "./keys.ts";
import { signBundle, signKeysDocument, signRootDocument } from "./sign.ts";
import { pinRoot, rootHash, verifyKeysDocument, type TrustState } from "./verify.ts";

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;

/** A generated key pair plus the imported private key, ready to pass to the sign functions. */
export interface TestKey extends KeyPairJwk { signer: SigningKey }

export async function makeKey(): Promise<TestKey> {
  const kp = await newKeyPair();
  return { ...kp, signer: { kid: kp.kid, privateKey: await importPrivate(kp.privateJwk) } };
}

export async function makeKeys(n: number): Promise<TestKey[]> {
  return Promise.all(Array.from({ length: n }, () => makeKey()));
}

export const iso = (ms: number) => new Date(ms).toISOString();

export type RootDocInput = z.input<typeof RootDocument>;
export type KeysDocInput = z.input<typeof KeysDocument>;

export function rootDocFor(keys: TestKey[], threshold: number, version = 1): RootDocInput {
  return { type: "outpost-root", version, threshold, keys: keys.map((k) => ({ kid: k.kid, publicKey: k.publicJwk })) };
}

export interface TrustFixtureOptions {
  /** Number of root keys (default 1). */
  rootKeys?: number;
  /** Root signatures needed (default 1, or `rootKeys` if smaller). */
  threshold?: number;
  /** The site the agent state belongs to and bundles are addressed to (default "site-a"). */
  site?: string;
  /** Reference time: documents are issued at `now` and expire relative to it (default: the real clock). */
  now?: Date;
  /** Keys document version (default 1) and lifetime (default 30 days). */
  keysVersion?: number;
  keysTtlMs?: number;
  /** Bundle lifetime (default 1 day). */
  bundleTtlMs?: number;
}

export interface TrustFixture {
  site: string;
  now: Date;
  threshold: number;
  rootKeys: TestKey[];
  /** The online key with the `bundle` role that `bundle()` signs with. */
  bundleKey: TestKey;
  rootDoc: RootDocument;
  rootJws: GeneralJws;
  rootHash: string;
  keysDoc: KeysDocument;
  keysJws: GeneralJws;
  /** What GET /agent/v1/keys would serve. */
  trustBundle: TrustBundle;
  /** An enrolled agent's state: root pinned, keys document verified, no bundle accepted yet. */
  state: TrustState;
  /** A valid bundle payload for this site (version 1, valid for `bundleTtlMs` from `now`), with overrides. */
  payload(overrides?: Partial<BundlePayloadInput>): BundlePayloadInput;
  /** Signs `payload(overrides)` with the bundle key, or with `key`. */
  bundle(overrides?: Partial<BundlePayloadInput>, key?: SigningKey): Promise<string>;
  /** A keys document (version/expiry/keys of this fixture unless overridden), signed by the root threshold or `signers`. */
  signKeys(overrides?: Partial<KeysDocInput>, signers?: SigningKey[]): Promise<GeneralJws>;
  /** Signs a root document with `signers`. */
  signRoot(doc: RootDocInput, signers: SigningKey[]): Promise<GeneralJws>;
}

export const minimalSpec = (): SpecInput => ({});

export async function makeTrustFixture(opts: TrustFixtureOptions = {}): Promise<TrustFixture> {
  const site = opts.site ?? "site-a";
  const now = opts.now ?? new Date();
  const n = opts.rootKeys ?? 1;
  const threshold = opts.threshold ?? Math.min(1, n);
  const keysVersion = opts.keysVersion ?? 1;
  const keysTtl = opts.keysTtlMs ?? 30 * DAY_MS;
  const bundleTtl = opts.bundleTtlMs ?? DAY_MS;

  const [rootKeys, bundleKey] = await Promise.all([makeKeys(n), makeKey()]);
  const rootSigners = rootKeys.slice(0, threshold).map((k) => k.signer);
  const rootJws = await signRootDocument(rootDocFor(rootKeys, threshold), rootSigners);
  const hash = rootHash(rootJws);

  const keysBase: KeysDocInput = {
    type: "outpost-keys",
    version: keysVersion,
    expiresAt: iso(now.getTime() + keysTtl),
    keys: [{ kid: bundleKey.kid, publicKey: bundleKey.publicJwk, roles: ["bundle"] }],
    retired: [],
  };
  const signKeys = (overrides: Partial<KeysDocInput> = {}, signers: SigningKey[] = rootSigners) =>
    signKeysDocument({ ...keysBase, ...overrides }, signers);
  const keysJws = await signKeys();

  // Build the state the way an agent does at enrollment: pin the root by hash, then verify the keys document.
  const rootDoc = pinRoot(rootJws, hash);
  const keysDoc = await verifyKeysDocument(rootDoc, null, keysJws, now);
  const state: TrustState = { site, root: rootDoc, keys: keysDoc, bundleVersion: 0 };

  const payload = (overrides: Partial<BundlePayloadInput> = {}): BundlePayloadInput => ({
    apiVersion: API_VERSION,
    site,
    version: 1,
    issuedAt: iso(now.getTime()),
    expiresAt: iso(now.getTime() + bundleTtl),
    keysVersion,
    release: { name: "base", version: "1.0.0" },
    spec: minimalSpec(),
    artifacts: [],
    ...overrides,
  });

  return {
    site, now, threshold, rootKeys, bundleKey, rootDoc, rootJws, rootHash: hash, keysDoc, keysJws,
    trustBundle: { roots: [rootJws], keys: keysJws },
    state,
    payload,
    bundle: (overrides, key = bundleKey.signer) => signBundle(payload(overrides), key),
    signKeys,
    signRoot: (doc, signers) => signRootDocument(doc, signers),
  };
}
