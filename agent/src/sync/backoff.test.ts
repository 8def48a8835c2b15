import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { backoffCeiling, backoffDelay, HUB_BACKOFF } from "./backoff.ts";

const policy = fc.record({ baseMs: fc.integer({ min: 1, max: 10_000 }), capMs: fc.integer({ min: 1, max: 3_600_000 }) })
  .filter((p) => p.capMs >= p.baseMs);
const attempt = fc.oneof(fc.integer({ min: 0, max: 64 }), fc.integer({ min: 65, max: 1_000_000 }), fc.constantFrom(-1, Number.NaN, Infinity));
const unit = fc.double({ min: 0, max: 1, noNaN: true });

describe("backoff (full jitter)", () => {
  it("stays within [0, min(cap, base * 2^attempt)] and is a finite integer", () => {
    fc.assert(fc.property(policy, attempt, unit, (p, a, r) => {
      const d = backoffDelay(a, p, () => r);
      const n = Number.isFinite(a) && a > 0 ? a : 0;
      expect(Number.isInteger(d)).toBe(true);
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThanOrEqual(p.capMs);
      expect(d).toBeLessThanOrEqual(p.baseMs * 2 ** Math.min(n, 60));
    }));
  });

  it("ceiling doubles per attempt until the cap, and never decreases", () => {
    fc.assert(fc.property(policy, fc.integer({ min: 0, max: 80 }), (p, a) => {
      const c0 = backoffCeiling(a, p);
      const c1 = backoffCeiling(a + 1, p);
      expect(c1).toBeGreaterThanOrEqual(c0);
      expect(c1).toBe(Math.min(p.capMs, c0 * 2));
    }));
  });

  it("reaches the cap: DESIGN's hub policy is 1 s base, 60 s cap", () => {
    expect(backoffCeiling(0, HUB_BACKOFF)).toBe(1000);
    expect(backoffCeiling(5, HUB_BACKOFF)).toBe(32_000);
    expect(backoffCeiling(6, HUB_BACKOFF)).toBe(60_000);
    expect(backoffCeiling(10_000, HUB_BACKOFF)).toBe(60_000);
    expect(backoffDelay(10_000, HUB_BACKOFF, () => 0.999999)).toBeLessThan(60_000);
  });

  it("equal jitter never goes below half the ceiling (quarantine is never a hot loop)", () => {
    fc.assert(fc.property(policy, attempt, unit, (p, a, r) => {
      const c = backoffCeiling(a, p);
      const d = backoffDelay(a, { ...p, jitter: "equal" }, () => r);
      expect(d).toBeGreaterThanOrEqual(Math.floor(c / 2));
      expect(d).toBeLessThanOrEqual(c);
    }));
  });

  it("spreads: full jitter uses the whole range", () => {
    const p = { baseMs: 1000, capMs: 60_000 };
    expect(backoffDelay(3, p, () => 0)).toBe(0);
    expect(backoffDelay(3, p, () => 0.5)).toBe(4000);
  });
});
