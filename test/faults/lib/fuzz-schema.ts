import fc from "fast-check";
import { z } from "zod";

/**
 * Inputs for property-based fuzzing, derived from the very zod schemas the hub validates with (via
 * their JSON Schema, as the OpenAPI document is), so a new route or field is fuzzed without anyone
 * writing an arbitrary for it:
 * - `shaped(schema)`: values of the schema's shape. Often valid, not always: refinements and
 *   cross-field rules are not in JSON Schema, which is fine: both sides of them get tried.
 * - `mutated(schema)`: a shaped value with one node replaced by a hostile value, removed, or
 *   joined by an unknown key.
 * - `hostile`: the values attackers and broken clients send (SQL-ish, traversal, control and
 *   unpaired-surrogate characters, prototype keys, huge numbers, deep nesting...).
 */
export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  propertyNames?: JsonSchema;
  items?: JsonSchema;
  prefixItems?: JsonSchema[];
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  pattern?: string;
  format?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minItems?: number;
  maxItems?: number;
  $ref?: string;
  $defs?: Record<string, JsonSchema>;
}

export function jsonSchemaOf(schema: z.ZodType): JsonSchema {
  return z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as JsonSchema;
}

/** Strings that have broken web services somewhere: each must be a clean 4xx or stored verbatim. */
export const HOSTILE_STRINGS: readonly string[] = [
  "' OR '1'='1", "'; DROP TABLE sites; --", "\" OR 1=1 --", "1) UNION SELECT token_hash FROM api_tokens --", "%' AND 1=1 --",
  "'); DELETE FROM reports; --", "\\'", "`rm -rf /`", "$(reboot)", "../../../../etc/passwd", "..\\..\\windows\\win.ini",
  "%2e%2e%2f%2e%2e%2fetc%2fpasswd", "/absolute/path", "a/../../b", ".", "..", "\u0000", "a\u0000b", "\uFEFF", "\uD800", "\uDFFF\uD800",
  "\r\nSet-Cookie: pwned=1", "<script>alert(1)</script>", "${jndi:ldap://x/a}", "{{7*7}}", "__proto__", "constructor", "prototype",
  "NaN", "Infinity", "-0", "1e309", "0x7fffffff", "null", "true", "", " ", "\t\n", "é", "𝕏𝕐", "\u202Eevil", "a".repeat(70), "x".repeat(5000),
];

/**
 * Nesting too deep for a recursive JSON.stringify (the test's own or the hub's) travels as a marker
 * string that `toJsonText` expands into the raw JSON text: arrays or objects `depth` levels deep.
 */
const DEEP = /"\\u0001deep:(array|object):(\d+)\\u0001"/g; // as JSON.stringify escapes U+0001
const deep = (kind: "array" | "object", depth: number) => `\u0001deep:${kind}:${depth}\u0001`;
export function toJsonText(v: unknown): string {
  return JSON.stringify(v).replace(DEEP, (_m, kind: string, n: string) => {
    const d = Number(n);
    return kind === "array" ? "[".repeat(d) + "]".repeat(d) : '{"a":'.repeat(d) + "{}" + "}".repeat(d);
  });
}

export const hostile: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...HOSTILE_STRINGS) },
  { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: "grapheme", maxLength: 40 }) },
  { weight: 2, arbitrary: fc.constantFrom(-1, 0, 1, 2 ** 31, 2 ** 53 + 1, -(2 ** 53) - 1, 1e308, -1e308, 0.5, Number.MIN_VALUE) },
  { weight: 1, arbitrary: fc.constantFrom(null, true, false, [], {}, [[]], JSON.parse('{"__proto__":{"polluted":true}}') as unknown) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.constantFrom(deep("array", 5000), deep("object", 5000), deep("array", 100_000), deep("object", 50_000)) },
);

const MAX_DEPTH = 6;

/** Values shaped like `schema` (see the module comment). */
export function shaped(schema: JsonSchema, root: JsonSchema = schema, depth = 0): fc.Arbitrary<unknown> {
  if (schema.$ref) {
    const name = schema.$ref.replace(/^#\/\$defs\//, "");
    const target = root.$defs?.[name];
    return target && depth < MAX_DEPTH ? shaped(target, root, depth + 1) : fc.constant(null);
  }
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum) return fc.constantFrom(...schema.enum);
  const alts = schema.anyOf ?? schema.oneOf;
  if (alts?.length) return fc.oneof(...alts.map((a) => shaped(a, root, depth + 1)));
  if (schema.allOf?.length) return shaped(Object.assign({}, ...schema.allOf) as JsonSchema, root, depth + 1);
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case "string": return stringOf(schema);
    case "integer": return fc.integer({ min: Math.ceil(lower(schema) ?? -1000), max: Math.floor(upper(schema) ?? 100_000) });
    case "number": return fc.double({ min: lower(schema) ?? -1e6, max: upper(schema) ?? 1e6, noNaN: true, noDefaultInfinity: true });
    case "boolean": return fc.boolean();
    case "null": return fc.constant(null);
    case "array": {
      if (depth >= MAX_DEPTH) return fc.constant([]);
      const min = schema.minItems ?? 0;
      const item = schema.items ? shaped(schema.items, root, depth + 1) : fc.jsonValue({ maxDepth: 1 });
      return fc.array(item, { minLength: min, maxLength: Math.min(schema.maxItems ?? min + 3, min + 3) });
    }
    case "object": {
      const props = schema.properties ?? {};
      const required = new Set(schema.required ?? []);
      const rec = fc.record(
        Object.fromEntries(Object.entries(props).map(([k, v]) => [k, depth >= MAX_DEPTH && !required.has(k) ? fc.constant(undefined) : shaped(v, root, depth + 1)])),
        { requiredKeys: [...required] },
      ).map((o) => JSON.parse(JSON.stringify(o)) as Record<string, unknown>); // drop undefined
      const extra = typeof schema.additionalProperties === "object" && depth < MAX_DEPTH
        ? fc.dictionary(schema.propertyNames ? stringOf(schema.propertyNames) : fc.string({ minLength: 1, maxLength: 12 }), shaped(schema.additionalProperties, root, depth + 1), { maxKeys: 3 })
        : fc.constant({});
      return fc.tuple(rec, extra).map(([a, b]) => ({ ...b, ...a }));
    }
    // Free-form values (z.unknown, records of anything) are where hostile content gets stored.
    default: return fc.oneof({ weight: 3, arbitrary: fc.jsonValue({ maxDepth: 2 }) }, { weight: 1, arbitrary: hostile });
  }
}

function lower(s: JsonSchema): number | undefined { return s.minimum ?? (s.exclusiveMinimum !== undefined ? s.exclusiveMinimum + 1 : undefined); }
function upper(s: JsonSchema): number | undefined { return s.maximum ?? (s.exclusiveMaximum !== undefined ? s.exclusiveMaximum - 1 : undefined); }

function stringOf(s: JsonSchema): fc.Arbitrary<string> {
  const min = s.minLength ?? 0;
  const max = Math.min(s.maxLength ?? 40, Math.max(min, 40));
  if (s.format === "date-time") return fc.date({ min: new Date("2000-01-01T00:00:00Z"), max: new Date("2100-01-01T00:00:00Z"), noInvalidDate: true }).map((d) => d.toISOString());
  if (s.pattern) {
    // Patterns are zod's own regexes: generate matches, and keep those within the length bounds.
    return fc.stringMatching(new RegExp(s.pattern)).filter((v) => v.length >= min && v.length <= (s.maxLength ?? Infinity));
  }
  return fc.string({ minLength: min, maxLength: max });
}

type Json = unknown;

/** Every path to a node of `v` (objects and arrays), the root first. */
function paths(v: Json, at: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(at);
  if (Array.isArray(v)) v.forEach((x, i) => paths(x, [...at, i], out));
  else if (v && typeof v === "object") for (const [k, x] of Object.entries(v)) paths(x, [...at, k], out);
  return out;
}

function edit(v: Json, path: (string | number)[], op: "replace" | "delete" | "add", value: Json, key: string): Json {
  if (path.length === 0) {
    if (op === "add" && v && typeof v === "object" && !Array.isArray(v)) return { ...(v as object), [key]: value };
    return op === "delete" ? undefined : value;
  }
  const [head, ...rest] = path;
  if (Array.isArray(v)) {
    const copy = [...v];
    const next = edit(copy[head as number], rest, op, value, key);
    if (next === undefined && rest.length === 0) copy.splice(head as number, 1); else copy[head as number] = next;
    return copy;
  }
  const obj = { ...(v as Record<string, Json>) };
  const next = edit(obj[head as string], rest, op, value, key);
  if (next === undefined && rest.length === 0) delete obj[head as string]; else obj[head as string] = next;
  return obj;
}

/** A shaped value with one node replaced by a hostile value, deleted, or given an unknown key. */
export function mutated(schema: JsonSchema): fc.Arbitrary<unknown> {
  return fc.tuple(shaped(schema), fc.nat(), fc.constantFrom("replace", "replace", "delete", "add") as fc.Arbitrary<"replace" | "delete" | "add">, hostile,
    fc.oneof(fc.constantFrom(...HOSTILE_STRINGS.filter((s) => s.length < 100)), fc.string({ minLength: 1, maxLength: 10 })))
    .map(([v, n, op, value, key]) => {
      const all = paths(v);
      const out = edit(v, all[n % all.length]!, op, value, key);
      return out === undefined ? {} : out;
    });
}

/** Either kind, most of the time shaped-and-mutated, sometimes plain shaped (to reach deeper code). */
export function fuzzInput(schema: JsonSchema): fc.Arbitrary<unknown> {
  return fc.oneof({ weight: 2, arbitrary: shaped(schema) }, { weight: 3, arbitrary: mutated(schema) }, { weight: 1, arbitrary: hostile });
}
