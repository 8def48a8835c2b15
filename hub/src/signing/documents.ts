import { base64url } from "jose";
import { KeysDocument, RootDocument, type GeneralJws, type PublicJwk } from "@outpost/shared";

/** Pure helpers for the trust documents the hub signs: what goes in them, and reading them back. */

export const KEYS_DOC_TTL_DAYS = 365;
/** A keys document this close to expiry is re-signed (at start), long before any agent refuses it. */
export const KEYS_DOC_RENEW_DAYS = 30;
const DAY_MS = 24 * 3600 * 1000;

export function decodeRoot(jws: GeneralJws): RootDocument {
  return RootDocument.parse(JSON.parse(new TextDecoder().decode(base64url.decode(jws.payload))));
}
export function decodeKeys(jws: GeneralJws): KeysDocument {
  return KeysDocument.parse(JSON.parse(new TextDecoder().decode(base64url.decode(jws.payload))));
}

export function rootDocument(version: number, threshold: number, keys: { kid: string; publicJwk: PublicJwk }[]) {
  return { type: "outpost-root" as const, version, threshold, keys: keys.map((k) => ({ kid: k.kid, publicKey: k.publicJwk })) };
}

export interface KeyRowLike { kid: string; publicJwk: PublicJwk; status: "active" | "retired"; retiredReason: string | null }

/** Active keys carry the bundle role; retired ones are listed so agents refuse what they signed. */
export function keysDocument(version: number, rows: KeyRowLike[], now: Date) {
  return {
    type: "outpost-keys" as const,
    version,
    expiresAt: new Date(now.getTime() + KEYS_DOC_TTL_DAYS * DAY_MS).toISOString(),
    keys: rows.filter((r) => r.status === "active").map((r) => ({ kid: r.kid, publicKey: r.publicJwk, roles: ["bundle" as const] })),
    retired: rows.filter((r) => r.status === "retired").map((r) => ({ kid: r.kid, reason: r.retiredReason ?? "retired" })),
  };
}

export function needsRenewal(doc: KeysDocument, now: Date): boolean {
  return Date.parse(doc.expiresAt) - now.getTime() < KEYS_DOC_RENEW_DAYS * DAY_MS;
}
