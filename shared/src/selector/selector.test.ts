import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { LabelMap } from "../protocol/labels.ts";
import { matches, parseSelector, SelectorError, type Requirement } from "./selector.ts";

const sites: Record<string, Record<string, string>> = {
  paris: { region: "eu", tier: "prod", gpu: "true" },
  berlin: { region: "eu", tier: "canary" },
  austin: { region: "us", tier: "prod", legacy: "yes" },
  bare: {},
};
const select = (sel: string) => Object.keys(sites).filter((s) => matches(parseSelector(sel), sites[s]!));

describe("parseSelector", () => {
  it("parses every operator", () => {
    expect(parseSelector("region=eu, tier!=canary, env in (prod, staging), chain notin (x), gpu, !legacy")).toEqual([
      { key: "region", op: "=", value: "eu" },
      { key: "tier", op: "!=", value: "canary" },
      { key: "env", op: "in", values: ["prod", "staging"] },
      { key: "chain", op: "notin", values: ["x"] },
      { key: "gpu", op: "exists" },
      { key: "legacy", op: "!exists" },
    ]);
  });

  it("accepts '==', spaces around operators, and prefixed keys", () => {
    expect(parseSelector("a==b")).toEqual([{ key: "a", op: "=", value: "b" }]);
    expect(parseSelector("  a = b ,c != d ")).toEqual([{ key: "a", op: "=", value: "b" }, { key: "c", op: "!=", value: "d" }]);
    expect(parseSelector("! legacy")).toEqual([{ key: "legacy", op: "!exists" }]);
    expect(parseSelector("outpost.io/zone=z1")).toEqual([{ key: "outpost.io/zone", op: "=", value: "z1" }]);
    expect(parseSelector("a=")).toEqual([{ key: "a", op: "=", value: "" }]);
  });

  it("an empty selector selects everything", () => {
    expect(parseSelector("")).toEqual([]);
    expect(parseSelector("   ")).toEqual([]);
    expect(select("")).toEqual(Object.keys(sites));
  });

  it.each([
    ["a in (b", "a in (b"],
    ["region=eu, a in (b", "a in (b"],
    ["a in b)", "a in b)"],
    ["=x", "=x"],
    ["k===", "k==="],
    ["a b", "a b"],
    ["a=b c", "a=b c"],
    ["a in (b c)", "a in (b c)"],
    ["a in (-x)", "a in (-x)"],
    ["-a=b", "-a=b"],
    ["a=b=c", "a=b=c"],
    ["!a=b", "!a=b"],
    ["region=eu,,tier=prod", "empty term"],
    ["region=eu,", "empty term"],
  ])("refuses %j with an error that names the bad term", (sel, named) => {
    let err: unknown;
    try { parseSelector(sel); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(SelectorError);
    expect((err as Error).message).toContain(named);
  });

  it("refuses selectors longer than 4096 characters", () => {
    expect(() => parseSelector(`a in (${Array.from({ length: 2000 }, (_, i) => `v${i}`).join(",")})`)).toThrow(SelectorError);
  });
});

describe("matches", () => {
  it.each([
    ["region=eu", ["paris", "berlin"]],
    ["region==us", ["austin"]],
    ["tier!=canary", ["paris", "austin", "bare"]],
    ["region in (us, apac)", ["austin"]],
    ["region notin (eu)", ["austin", "bare"]],
    ["gpu", ["paris"]],
    ["!legacy", ["paris", "berlin", "bare"]],
    ["region=eu,tier=prod", ["paris"]],
    ["region in (eu,us),!gpu,tier!=canary", ["austin"]],
    ["region=apac", []],
  ])("%s selects %j", (sel, expected) => {
    expect(select(sel)).toEqual(expected);
  });

  it("does not treat inherited object properties as labels", () => {
    expect(matches(parseSelector("constructor"), {})).toBe(false);
    expect(matches(parseSelector("!toString"), {})).toBe(true);
  });
});

// --- Property: parse(format(requirements)) evaluates like the requirements themselves -------------
const keyArb = fc.constantFrom("region", "tier", "gpu", "outpost.io/zone", "a", "b-c_d.e");
const valueArb = fc.constantFrom("", "eu", "us", "prod", "canary", "v1.2", "x_y-z");
const reqArb: fc.Arbitrary<Requirement> = fc.oneof(
  fc.record({ key: keyArb, op: fc.constantFrom("=" as const, "!=" as const), value: valueArb }),
  fc.record({ key: keyArb, op: fc.constantFrom("in" as const, "notin" as const), values: fc.array(valueArb, { minLength: 1, maxLength: 3 }) }),
  fc.record({ key: keyArb, op: fc.constantFrom("exists" as const, "!exists" as const) }),
);
const labelsArb = fc.dictionary(keyArb, valueArb, { maxKeys: 4 });

function format(r: Requirement): string {
  switch (r.op) {
    case "=": case "!=": return `${r.key}${r.op}${r.value}`;
    case "in": case "notin": return `${r.key} ${r.op} (${r.values.join(", ")})`;
    case "exists": return r.key;
    case "!exists": return `!${r.key}`;
  }
}

/** The Kubernetes semantics, written out independently of the implementation. */
function evaluate(r: Requirement, labels: Record<string, string>): boolean {
  const v = Object.keys(labels).includes(r.key) ? labels[r.key] : undefined;
  if (r.op === "=") return v === r.value;
  if (r.op === "!=") return v !== r.value; // absent keys match !=
  if (r.op === "in") return v !== undefined && r.values.includes(v);
  if (r.op === "notin") return v === undefined || !r.values.includes(v);
  if (r.op === "exists") return v !== undefined;
  return v === undefined;
}

describe("selector properties", () => {
  it("matches(parseSelector(format(reqs)), labels) agrees with a direct evaluation", () => {
    fc.assert(fc.property(fc.array(reqArb, { maxLength: 4 }), labelsArb, (reqs, labels) => {
      const sel = reqs.map(format).join(", ");
      expect(parseSelector(sel)).toEqual(reqs);
      expect(matches(parseSelector(sel), labels)).toBe(reqs.every((r) => evaluate(r, labels)));
    }), { numRuns: 500 });
  });

  it("parseSelector either parses or throws a SelectorError, never anything else", () => {
    fc.assert(fc.property(fc.oneof(fc.string(), fc.string({ unit: fc.constantFrom(..."ab=!(), in notin") })), (s) => {
      try { parseSelector(s); } catch (e) { expect(e).toBeInstanceOf(SelectorError); }
    }), { numRuns: 1000 });
  });

  it("every label map the API accepts can be selected by each of its own labels", () => {
    fc.assert(fc.property(labelsArb, (labels) => {
      expect(LabelMap.safeParse(labels).success).toBe(true);
      for (const [k, v] of Object.entries(labels)) {
        expect(matches(parseSelector(`${k}=${v}`), labels)).toBe(true);
        expect(matches(parseSelector(`${k} in (${v})`), labels)).toBe(true);
        expect(matches(parseSelector(`${k} notin (${v})`), labels)).toBe(false);
      }
    }));
  });
});
