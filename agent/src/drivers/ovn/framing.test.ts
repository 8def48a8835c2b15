import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { JsonStreamSplitter } from "./framing.ts";

// Messages shaped like OVSDB's: strings holding brackets, quotes, escapes and non-ASCII text.
const awkward = fc.constantFrom("{", "}", "[", "]", "\"", "\\", "\\\"", "é", "🦀", "a b", "");
const value = fc.letrec((tie) => ({
  v: fc.oneof({ depthSize: "small" }, fc.string(), fc.stringMatching(/^[{}[\]"\\]*$/), awkward, fc.integer(), fc.boolean(), fc.constant(null),
    fc.array(tie("v"), { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 4 }), tie("v"), { maxKeys: 3 })),
})).v;
const message = fc.record({ id: fc.oneof(fc.nat(), fc.constant("echo"), fc.constant(null)), method: fc.string(), params: fc.array(value, { maxLength: 3 }) });

/** Feeds `bytes` to a splitter cut at the given points. */
function feed(bytes: Buffer, cuts: number[]): unknown[] {
  const s = new JsonStreamSplitter();
  const out: unknown[] = [];
  let at = 0;
  for (const c of [...new Set(cuts.map((x) => x % (bytes.length + 1)))].sort((a, b) => a - b)) {
    out.push(...s.push(bytes.subarray(at, c)));
    at = c;
  }
  out.push(...s.push(bytes.subarray(at)));
  expect(s.idle).toBe(true);
  return out;
}

describe("JsonStreamSplitter (OVSDB messages back to back on one stream)", () => {
  it("finds every message however the stream is cut, even inside a multi-byte character", () => {
    fc.assert(fc.property(fc.array(message, { minLength: 1, maxLength: 5 }), fc.array(fc.nat(), { maxLength: 8 }), fc.constantFrom("", "\n", " "), (msgs, cuts, sep) => {
      const bytes = Buffer.from(msgs.map((m) => JSON.stringify(m)).join(sep), "utf8");
      expect(feed(bytes, cuts)).toEqual(msgs);
    }));
  });

  it("returns nothing until a message is complete, then exactly that message", () => {
    const s = new JsonStreamSplitter();
    expect(s.push('{"id":1,"result":["a}"')).toEqual([]);
    expect(s.idle).toBe(false);
    expect(s.push('],"error":null}{"id"')).toEqual([{ id: 1, result: ["a}"], error: null }]);
    expect(s.push(':2}')).toEqual([{ id: 2 }]);
  });

  it("rejects a stream that is not JSON objects", () => {
    expect(() => new JsonStreamSplitter().push("hello")).toThrow(/expected a JSON object/);
    expect(() => new JsonStreamSplitter().push('{"a":}')).toThrow(SyntaxError);
  });

  it("refuses a message larger than its limit instead of buffering without end", () => {
    const s = new JsonStreamSplitter(100);
    expect(() => s.push(`{"x":"${"y".repeat(200)}`)).toThrow(/exceeds 100/);
  });
});
