import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { pruneArtifacts } from "./prune.ts";

const digest = fc.constantFrom(..."0123456789abcdef".split("")).chain((c) => fc.constantFrom(c.repeat(64), `${c}${"f".repeat(63)}`));
const entry = fc.oneof(
  digest,
  digest.map((d) => `${d}.partial`),
  fc.constantFrom("notes.txt", ".tmp", "ABCDEF".repeat(10) + "ABCD", `${"a".repeat(64)}.json`, `${"a".repeat(63)}`),
);

describe("pruneArtifacts", () => {
  it("deletes exactly the verified files and partials of digests neither kept nor downloading", () => {
    fc.assert(fc.property(fc.uniqueArray(entry, { maxLength: 30 }), fc.array(digest, { maxLength: 6 }), fc.array(digest, { maxLength: 3 }), (entries, keep, active) => {
      const doomed = pruneArtifacts({ entries, keep, active });
      const spared = new Set([...keep, ...active]);
      for (const e of entries) {
        const m = /^([a-f0-9]{64})(\.partial)?$/.exec(e);
        expect(doomed.includes(e), e).toBe(m !== null && !spared.has(m[1]!));
      }
      expect(doomed.every((d) => entries.includes(d))).toBe(true);
    }));
  });

  it("keeps a kept artifact's partial (the next attempt resumes it) and everything that is not an artifact file", () => {
    const a = "a".repeat(64), b = "b".repeat(64), c = "c".repeat(64);
    expect(pruneArtifacts({ entries: [a, `${a}.partial`, b, `${b}.partial`, `${c}.partial`, "notes.txt"], keep: [a], active: [c] }))
      .toEqual([b, `${b}.partial`]);
  });
});
