import { createHash } from "node:crypto";
import { compactVerify, decodeProtectedHeader, flattenedVerify, base64url } from "jose";
import { BundlePayload, MAX_BUNDLE_BYTES, maxBundleJwsChars } from "../bundle/payload.ts";
import type { Artifact } from "../bundle/spec.ts";
import { GeneralJws, KeysDocument, RootDocument, type PublicJwk, type TrustBundle } from "./documents.ts";
import { VerifyError, type VerifyCode } from "./errors.ts";
import { importPublic } from "./keys.ts";
import { BUNDLE_TYP } from "./sign.ts";

/**
 * The agent's trusted state. Verification is a small state machine over it: each accepted input
 * (a root rotation, a keys document, a bundle) yields the next state; a refused one yields a
 * VerifyError and leaves the state as it was.
 */
export interface TrustState {
  site: string;
  root: RootDocument;
  keys: KeysDocument | null;
  /** Highest bundle version ever accepted (0 before the first): the rollback floor. */
  bundleVersion: number;
}

const dec = new TextDecoder();

/** sha256 (hex) of a root document's signed payload bytes: what an enrollment token pins. */
export function rootHash(root: GeneralJws): string {
  return createHash("sha256").update(base64url.decode(root.payload)).digest("hex");
}

function parseDoc<T>(jws: GeneralJws, schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: Error } }, code: VerifyCode): T {
  let raw: unknown;
  try { raw = JSON.parse(dec.decode(base64url.decode(jws.payload))); } catch { throw new VerifyError(code, "payload is not JSON"); }
  const r = schema.safeParse(raw);
  if (!r.success) throw new VerifyError(code, r.error.message);
  return r.data;
}

/** How many distinct keys of `keys` produced a valid signature over `jws`. */
async function countValidSignatures(jws: GeneralJws, keys: { kid: string; publicKey: PublicJwk }[]): Promise<number> {
  const valid = new Set<string>();
  for (const sig of jws.signatures) {
    let kid: unknown;
    try { kid = decodeProtectedHeader(sig).kid; } catch { continue; }
    const key = keys.find((k) => k.kid === kid);
    if (!key || valid.has(key.kid)) continue;
    try {
      await flattenedVerify({ payload: jws.payload, protected: sig.protected, signature: sig.signature }, await importPublic(key.publicKey), { algorithms: ["EdDSA"] });
      valid.add(key.kid);
    } catch { /* an invalid signature simply does not count towards the threshold */ }
  }
  return valid.size;
}

/** Enrollment: accept the root whose hash the bootstrap token pins (trust on first use, but pinned). */
export function pinRoot(candidate: unknown, expectedHash: string): RootDocument {
  const jws = GeneralJws.safeParse(candidate);
  if (!jws.success) throw new VerifyError("ROOT_MALFORMED", jws.error.message);
  if (rootHash(jws.data) !== expectedHash.toLowerCase()) throw new VerifyError("ROOT_HASH_MISMATCH");
  return parseDoc(jws.data, RootDocument, "ROOT_MALFORMED");
}

/** Root rotation N -> N+1: signed by a threshold of the trusted root AND a threshold of the new one. */
export async function rotateRoot(trusted: RootDocument, candidate: GeneralJws): Promise<RootDocument> {
  const next = parseDoc(candidate, RootDocument, "ROOT_MALFORMED");
  if (next.version !== trusted.version + 1) throw new VerifyError("ROOT_VERSION", `trusted ${trusted.version}, got ${next.version}`);
  const byOld = await countValidSignatures(candidate, trusted.keys);
  const byNew = await countValidSignatures(candidate, next.keys);
  if (byOld < trusted.threshold || byNew < next.threshold) {
    throw new VerifyError("ROOT_THRESHOLD", `old ${byOld}/${trusted.threshold}, new ${byNew}/${next.threshold}`);
  }
  return next;
}

/** A keys document, checked against the trusted root threshold, expiry and the version floor. */
export async function verifyKeysDocument(root: RootDocument, current: KeysDocument | null, candidate: unknown, now: Date): Promise<KeysDocument> {
  const jws = GeneralJws.safeParse(candidate);
  if (!jws.success) throw new VerifyError("KEYS_MALFORMED", jws.error.message);
  const doc = parseDoc(jws.data, KeysDocument, "KEYS_MALFORMED");
  const signed = await countValidSignatures(jws.data, root.keys);
  if (signed < root.threshold) throw new VerifyError("KEYS_THRESHOLD", `${signed} of ${root.threshold} root signatures`);
  if (current && doc.version < current.version) throw new VerifyError("KEYS_ROLLBACK", `trusted ${current.version}, got ${doc.version}`);
  if (Date.parse(doc.expiresAt) <= now.getTime()) throw new VerifyError("KEYS_EXPIRED", doc.expiresAt);
  return doc;
}

/**
 * Brings the trust state up to date from what the hub serves: follows every root rotation past
 * the trusted version, then accepts the keys document under the newest root.
 */
export async function updateTrust(state: TrustState, served: TrustBundle, now: Date): Promise<TrustState> {
  let root = state.root;
  const newer = served.roots
    .map((jws) => ({ jws, doc: parseDoc(jws, RootDocument, "ROOT_MALFORMED") }))
    .filter((r) => r.doc.version > root.version)
    .sort((a, b) => a.doc.version - b.doc.version);
  for (const r of newer) root = await rotateRoot(root, r.jws);
  // After a root rotation the old keys document's root no longer vouches for anything: re-check it.
  const keys = await verifyKeysDocument(root, root === state.root ? state.keys : null, served.keys, now);
  if (state.keys && keys.version < state.keys.version) throw new VerifyError("KEYS_ROLLBACK");
  return { ...state, root, keys };
}

export interface VerifiedBundle { payload: BundlePayload; kid: string }

/**
 * The one gate every bundle passes, whatever its transport (HTTPS, MQTT, a file). Checks in the
 * order that gives the most precise code: size, shape, keys document expiry, key, signature, payload,
 * site, expiry, version.
 */
export async function verifyBundle(state: TrustState, jws: string, now: Date, maxBytes = MAX_BUNDLE_BYTES): Promise<{ state: TrustState } & VerifiedBundle> {
  if (jws.length > maxBundleJwsChars(maxBytes)) throw new VerifyError("BUNDLE_TOO_LARGE", `${jws.length} bytes`);
  let header;
  try { header = decodeProtectedHeader(jws); } catch { throw new VerifyError("BUNDLE_MALFORMED", "not a compact JWS"); }
  if (jws.split(".").length !== 3 || header.alg !== "EdDSA" || header.typ !== BUNDLE_TYP || typeof header.kid !== "string") {
    throw new VerifyError("BUNDLE_MALFORMED", "header must be alg EdDSA, typ outpost-bundle+jws, with a kid");
  }
  const kid = header.kid;
  if (!state.keys) throw new VerifyError("BUNDLE_UNKNOWN_KEY", "no keys document trusted yet");
  // Only keys from a current keys document sign: once it expires (a frozen agent fed an old one),
  // a retired or compromised key must not stay trusted. Refresh it with updateTrust first.
  if (Date.parse(state.keys.expiresAt) <= now.getTime()) throw new VerifyError("KEYS_EXPIRED", `keys document v${state.keys.version} expired ${state.keys.expiresAt}`);
  if (state.keys.retired.some((r) => r.kid === kid)) throw new VerifyError("BUNDLE_RETIRED_KEY", kid);
  const key = state.keys.keys.find((k) => k.kid === kid);
  if (!key) throw new VerifyError("BUNDLE_UNKNOWN_KEY", kid);
  if (!key.roles.includes("bundle")) throw new VerifyError("BUNDLE_KEY_ROLE", kid);

  let bytes: Uint8Array;
  try {
    ({ payload: bytes } = await compactVerify(jws, await importPublic(key.publicKey), { algorithms: ["EdDSA"] }));
  } catch { throw new VerifyError("BUNDLE_BAD_SIGNATURE", kid); }
  if (bytes.length > maxBytes) throw new VerifyError("BUNDLE_TOO_LARGE", `${bytes.length} bytes`);

  let raw: unknown;
  try { raw = JSON.parse(dec.decode(bytes)); } catch { throw new VerifyError("BUNDLE_MALFORMED", "payload is not JSON"); }
  const parsed = BundlePayload.safeParse(raw);
  if (!parsed.success) throw new VerifyError("BUNDLE_MALFORMED", parsed.error.message);
  const payload = parsed.data;

  if (payload.site !== state.site) throw new VerifyError("BUNDLE_WRONG_SITE", `for ${payload.site}, this is ${state.site}`);
  if (Date.parse(payload.expiresAt) <= now.getTime()) throw new VerifyError("BUNDLE_EXPIRED", payload.expiresAt);
  if (payload.version <= state.bundleVersion) throw new VerifyError("BUNDLE_ROLLBACK", `have ${state.bundleVersion}, got ${payload.version}`);
  if (payload.keysVersion > state.keys.version) throw new VerifyError("BUNDLE_KEYS_VERSION", `have ${state.keys.version}, need ${payload.keysVersion}`);
  return { state: { ...state, bundleVersion: payload.version }, payload, kid };
}

/** An out-of-band artifact must match the digest and size the signed bundle names. */
export function verifyArtifact(artifact: Artifact, got: { sha256: string; size: number }): void {
  if (got.size !== artifact.size || got.sha256 !== artifact.sha256) {
    throw new VerifyError("ARTIFACT_MISMATCH", `${artifact.name}: want ${artifact.sha256}/${artifact.size}, got ${got.sha256}/${got.size}`);
  }
}
