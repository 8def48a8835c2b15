import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseRange } from "./range.ts";

const size = fc.integer({ min: 1, max: 2 ** 40 });

describe("parseRange", () => {
  it("bytes=N- resumes at N while N is inside the file, and is unsatisfiable from the end on", () => {
    fc.assert(fc.property(size, fc.nat({ max: 2 ** 41 }), (n, start) => {
      const r = parseRange(`bytes=${start}-`, n);
      expect(r).toEqual(start < n ? { kind: "partial", start, end: n - 1 } : { kind: "unsatisfiable" });
    }));
  });

  it("bytes=N-M is clipped to the file and always lies inside it", () => {
    fc.assert(fc.property(size, fc.nat({ max: 2 ** 41 }), fc.nat({ max: 2 ** 41 }), (n, a, b) => {
      const r = parseRange(`bytes=${a}-${b}`, n);
      if (b < a) expect(r).toEqual({ kind: "full" }); // an invalid range-spec is ignored
      else if (a >= n) expect(r).toEqual({ kind: "unsatisfiable" });
      else expect(r).toEqual({ kind: "partial", start: a, end: Math.min(b, n - 1) });
    }));
  });

  it("bytes=-N is the last N bytes (the whole file when N exceeds it); -0 is unsatisfiable", () => {
    fc.assert(fc.property(size, fc.integer({ min: 1, max: 2 ** 41 }), (n, suffix) => {
      expect(parseRange(`bytes=-${suffix}`, n)).toEqual({ kind: "partial", start: Math.max(0, n - suffix), end: n - 1 });
    }));
    expect(parseRange("bytes=-0", 10)).toEqual({ kind: "unsatisfiable" });
  });

  it("anything else is ignored: the whole artifact is sent", () => {
    for (const h of [undefined, "", "bytes=", "bytes=-", "items=0-1", "bytes=0-1,5-9", "bytes=a-b", "bytes=1-2-3", `bytes=${"9".repeat(30)}-`]) {
      expect(parseRange(h, 100), String(h)).toEqual({ kind: "full" });
    }
  });

  it("an empty artifact has no satisfiable range", () => {
    expect(parseRange("bytes=0-", 0)).toEqual({ kind: "unsatisfiable" });
    expect(parseRange("bytes=-5", 0)).toEqual({ kind: "unsatisfiable" });
    expect(parseRange(undefined, 0)).toEqual({ kind: "full" });
  });
});
