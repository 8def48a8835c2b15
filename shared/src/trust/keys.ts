import { exportJWK, generateKeyPair, importJWK, calculateJwkThumbprint, type CryptoKey, type JWK } from "jose";
import type { PublicJwk } from "./documents.ts";

export interface SigningKey { kid: string; privateKey: CryptoKey | Uint8Array | JWK }
export interface KeyPairJwk { kid: string; privateJwk: JWK; publicJwk: PublicJwk }

/** A new Ed25519 key pair, its kid the RFC 7638 thumbprint (stable, derived, never chosen by hand). */
export async function newKeyPair(): Promise<KeyPairJwk> {
  const { privateKey, publicKey } = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
  const publicJwk = (await exportJWK(publicKey)) as PublicJwk;
  const privateJwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  return { kid, privateJwk: { ...privateJwk, kid }, publicJwk: { kty: "OKP", crv: "Ed25519", x: publicJwk.x } };
}

export async function importPrivate(jwk: JWK) { return importJWK(jwk, "EdDSA") as Promise<CryptoKey>; }
/**
 * Imported public keys, by their x coordinate. Importing a JWK costs about as much as checking a
 * signature, and agents and the hub verify against the same handful of keys again and again.
 */
const publicKeys = new Map<string, Promise<CryptoKey>>();
export function importPublic(jwk: PublicJwk): Promise<CryptoKey> {
  let key = publicKeys.get(jwk.x);
  if (!key) {
    key = importJWK({ kty: "OKP", crv: "Ed25519", x: jwk.x }, "EdDSA") as Promise<CryptoKey>;
    key.catch(() => publicKeys.delete(jwk.x));
    if (publicKeys.size > 10_000) publicKeys.clear(); // bounded: a hub verifies one key per site
    publicKeys.set(jwk.x, key);
  }
  return key;
}
export async function thumbprint(jwk: PublicJwk) { return calculateJwkThumbprint({ ...jwk }); }
