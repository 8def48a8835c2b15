import { readFileSync } from "node:fs";
import { join } from "node:path";
import { compactVerify } from "jose";
import { parse } from "yaml";
import {
  importPrivate, importPublic, newKeyPair, pinRoot, rootHash, signBundle, signKeysDocument, signRootDocument,
  updateTrust, verifyBundle, type TrustState,
} from "@outpost/shared";
import { argValue, fmt, machine, rate } from "./lib.ts";

/**
 * Bundles verified per second by the agent's full gate (size, key lookup, signature, schema,
 * site, expiry, version) next to jose's bare Ed25519 signature check on the same bytes: the
 * ratio is what the protections cost on top of the cryptography.
 */
export async function benchVerify(args: string[]): Promise<void> {
  const seconds = argValue(args, "seconds", 3);
  const root = await newKeyPair(), online = await newKeyPair();
  const rootKey = { kid: root.kid, privateKey: await importPrivate(root.privateJwk) };
  const rootDoc = await signRootDocument({ type: "outpost-root", version: 1, threshold: 1, keys: [{ kid: root.kid, publicKey: root.publicJwk }] }, [rootKey]);
  const keysDoc = await signKeysDocument({
    type: "outpost-keys", version: 1, expiresAt: new Date(Date.now() + 864e5).toISOString(),
    keys: [{ kid: online.kid, publicKey: online.publicJwk, roles: ["bundle"] }],
  }, [rootKey]);
  const state: TrustState = await updateTrust({ site: "bench", root: pinRoot(rootDoc, rootHash(rootDoc)), keys: null, bundleVersion: 0 }, { roots: [rootDoc], keys: keysDoc }, new Date());

  const release = parse(readFileSync(join(import.meta.dirname, "../examples/store-1.0.yaml"), "utf8"));
  const signer = { kid: online.kid, privateKey: await importPrivate(online.privateJwk) };
  const jws = await signBundle({
    apiVersion: "outpost/v1", site: "bench", version: 1, issuedAt: new Date().toISOString(), expiresAt: new Date(Date.now() + 864e5).toISOString(),
    keysVersion: 1, release: { name: release.name, version: release.version }, spec: release.spec,
  }, signer);
  const publicKey = await importPublic(online.publicJwk);
  const now = new Date();

  console.log(`bench verify: ${machine()}; bundle of ${jws.length} bytes (examples/store-1.0.yaml), ${seconds}s per measurement`);
  const baseline = await rate(() => compactVerify(jws, publicKey, { algorithms: ["EdDSA"] }), seconds * 1000);
  const outpost = await rate(() => verifyBundle(state, jws, now), seconds * 1000);
  console.log(`  baseline  jose compactVerify (signature only)   ${fmt(baseline.perSecond).padStart(9)} /s`);
  console.log(`  outpost   verifyBundle (every protection)       ${fmt(outpost.perSecond).padStart(9)} /s`);
  console.log(`  ratio     outpost / baseline                    ${(outpost.perSecond / baseline.perSecond).toFixed(2)}`);
}
