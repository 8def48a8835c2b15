import { z } from "zod";

/** Ed25519 public key as a JWK (what jose exports). */
export const PublicJwk = z.object({ kty: z.literal("OKP"), crv: z.literal("Ed25519"), x: z.string().min(40).max(64) });
export type PublicJwk = z.output<typeof PublicJwk>;

export const Kid = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/);

/**
 * The root document: the offline root key set and its threshold. Agents pin one at enrollment
 * (by its sha256) and follow rotations N -> N+1, each signed by a threshold of the old AND the new set.
 */
export const RootDocument = z.strictObject({
  type: z.literal("outpost-root"),
  version: z.number().int().min(1),
  threshold: z.number().int().min(1),
  keys: z.array(z.strictObject({ kid: Kid, publicKey: PublicJwk })).min(1),
}).refine((d) => d.threshold <= d.keys.length, { message: "threshold exceeds the number of root keys", path: ["threshold"] });
export type RootDocument = z.output<typeof RootDocument>;

export const KeyRole = z.enum(["bundle"]);
export type KeyRole = z.output<typeof KeyRole>;

/** The keys document: online signing keys and their roles, signed by a threshold of root keys. */
export const KeysDocument = z.strictObject({
  type: z.literal("outpost-keys"),
  version: z.number().int().min(1),
  expiresAt: z.iso.datetime(),
  keys: z.array(z.strictObject({ kid: Kid, publicKey: PublicJwk, roles: z.array(KeyRole) })),
  /** Keys taken out of service (rotated or compromised): a bundle signed by one is refused. */
  retired: z.array(z.strictObject({ kid: Kid, reason: z.string().max(256) })).default([]),
});
export type KeysDocument = z.output<typeof KeysDocument>;

/** JWS JSON General Serialization (RFC 7515 §7.2.1), so several root keys can sign one document. */
export const GeneralJws = z.strictObject({
  payload: z.string(),
  signatures: z.array(z.strictObject({ protected: z.string(), signature: z.string() })).min(1).max(32),
});
export type GeneralJws = z.output<typeof GeneralJws>;

/** What GET /agent/v1/keys serves: every root since version 1, then the current keys document. */
export const TrustBundle = z.strictObject({ roots: z.array(GeneralJws).min(1), keys: GeneralJws });
export type TrustBundle = z.output<typeof TrustBundle>;
