import { createHash } from "node:crypto";

/**
 * JSON with object keys sorted at every level, so two values that mean the same thing compare
 * (and hash) the same whatever order their keys were written in. `undefined` members vanish, as
 * in JSON.stringify: a spec field left out and one set to undefined are the same desired state.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map((v) => (v === undefined ? null : sortKeys(v)));
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[k];
      if (v !== undefined) out[k] = sortKeys(v);
    }
    return out;
  }
  return value;
}

export function sameJson(a: unknown, b: unknown): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

export function sha256Hex(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}
