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
export async function importPublic(jwk: PublicJwk) { return importJWK({ ...jwk }, "EdDSA") as Promise<CryptoKey>; }
export async function thumbprint(jwk: PublicJwk) { return calculateJwkThumbprint({ ...jwk }); }
