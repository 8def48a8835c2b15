/**
 * OVSDB value notation (RFC 7047 §5.1), both ways. On the wire a set with exactly one member may
 * be written as the bare atom, a uuid is ["uuid", "..."], a map is ["map", [[k, v], ...]]; these
 * helpers hide that so the rest of the driver deals in plain arrays, records and uuid strings. Pure.
 */
export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

export class OvsdbDatumError extends Error {
  constructor(what: string, value: unknown) {
    super(`OVSDB: expected ${what}, got ${JSON.stringify(value)}`);
    this.name = "OvsdbDatumError";
  }
}

const isTagged = (v: unknown, tag: string): v is [string, unknown] => Array.isArray(v) && v.length === 2 && v[0] === tag;

// --- decoding (what select returns) ---------------------------------------------------------

export function decodeUuid(v: unknown): string {
  if (isTagged(v, "uuid") && typeof v[1] === "string") return v[1];
  throw new OvsdbDatumError("a uuid", v);
}

/** A set column: ["set", [...]] or a bare atom (a one-member set). */
export function decodeSet(v: unknown): unknown[] {
  if (isTagged(v, "set")) {
    if (!Array.isArray(v[1])) throw new OvsdbDatumError("a set", v);
    return v[1];
  }
  return [v];
}

export function decodeStringSet(v: unknown): string[] {
  return decodeSet(v).map((x) => {
    if (typeof x !== "string") throw new OvsdbDatumError("a string", x);
    return x;
  });
}

export function decodeUuidSet(v: unknown): string[] {
  return decodeSet(v).map(decodeUuid);
}

/** An optional column (set of at most one member): the member, or undefined. */
export function decodeOptional(v: unknown): unknown {
  const s = decodeSet(v);
  return s.length ? s[0] : undefined;
}

/** A string-to-string map column. */
export function decodeStringMap(v: unknown): Record<string, string> {
  if (!isTagged(v, "map") || !Array.isArray(v[1])) throw new OvsdbDatumError("a map", v);
  const out: Record<string, string> = {};
  for (const pair of v[1]) {
    if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== "string" || typeof pair[1] !== "string") throw new OvsdbDatumError("a string pair", pair);
    out[pair[0]] = pair[1];
  }
  return out;
}

// --- encoding (what insert / update / mutate / where take) ----------------------------------

export const uuid = (u: string): Json => ["uuid", u];
/** A reference to a row inserted earlier in the same transaction (its "uuid-name"). */
export const namedUuid = (n: string): Json => ["named-uuid", n];
export const set = (members: readonly Json[]): Json => ["set", [...members]];
export const uuidSet = (uuids: readonly string[]): Json => set(uuids.map(uuid));
export const map = (m: Readonly<Record<string, string>>): Json => ["map", Object.entries(m).map(([k, v]) => [k, v])];
