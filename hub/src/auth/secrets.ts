import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

export function sha256Hex(s: string): string { return createHash("sha256").update(s, "utf8").digest("hex"); }

export function randomBase64url(bytes: number): string { return randomBytes(bytes).toString("base64url"); }

/** Lowercase letters and digits (what an enrollment-token id may contain), from unbiased random bytes. */
export function randomId(length: number): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  let out = "";
  while (out.length < length) {
    for (const b of randomBytes(length)) {
      if (b < 252 && out.length < length) out += alphabet[b % 36]; // 252 = 7 * 36: no modulo bias
    }
  }
  return out;
}

/** Compares two hex digests without leaking where they differ. */
export function sameDigest(a: string, b: string): boolean {
  const x = Buffer.from(a, "hex");
  const y = Buffer.from(b, "hex");
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}

/** Compares two strings (a state, a nonce) in time that does not depend on where they differ. */
export function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(createHash("sha256").update(a).digest(), createHash("sha256").update(b).digest());
}
