import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CLOCK_SKEW_THRESHOLD_MS, nextOffset, offsetFromDate } from "./clock.ts";

describe("clock offset from the hub's Date header", () => {
  const T = Date.parse("2031-03-01T12:00:00.000Z");

  it("estimates hub minus local within the round trip plus a second, and never more skew than there is", () => {
    fc.assert(fc.property(
      fc.integer({ min: -86_400_000, max: 86_400_000 }), fc.integer({ min: 0, max: 120_000 }), fc.integer({ min: 0, max: 999 }), fc.double({ min: 0, max: 1, noNaN: true }),
      (offset, rtt, phase, at) => {
        const sent = T + phase, received = sent + rtt;
        // The hub stamped its answer anywhere inside the round trip, in its own time, whole seconds only.
        const hubAt = sent + Math.floor(rtt * at) + offset;
        const header = new Date(Math.floor(hubAt / 1000) * 1000).toUTCString();
        const est = offsetFromDate(header, sent, received)!;
        expect(Math.abs(est - offset)).toBeLessThanOrEqual(rtt + 1000);
        expect(Math.abs(est)).toBeLessThanOrEqual(Math.abs(offset) + 1000);
      }));
  });

  it("clocks in step: an answer read late (a slow hub, a busy client) shows no skew", () => {
    // Sent at 12:00:00.000, stamped by the hub at once, read 9 s later: the midpoint said "4 s behind".
    expect(offsetFromDate(new Date(T).toUTCString(), T, T + 9_000)).toBe(0);
    expect(offsetFromDate(new Date(T + 30_000).toUTCString(), T, T + 60_000)).toBe(0);
  });

  it("a clock an hour off is found to within the round trip plus a second", () => {
    const est = offsetFromDate(new Date(T + 3_600_000).toUTCString(), T + 100, T + 300)!;
    expect(est).toBeGreaterThan(3_600_000 - 1_300);
    expect(est).toBeLessThanOrEqual(3_600_000);
    expect(offsetFromDate(new Date(T - 3_600_000).toUTCString(), T, T + 200)).toBeLessThan(-3_598_000);
  });

  it("no or unreadable header: no estimate", () => {
    expect(offsetFromDate(null, T, T)).toBeNull();
    expect(offsetFromDate("yesterday-ish", T, T)).toBeNull();
  });

  it("a skew under the threshold counts as none; a change under the threshold keeps the offset (no flapping)", () => {
    expect(nextOffset(0, 1_200)).toBe(0);
    expect(nextOffset(3_600_000, 2_000)).toBe(0); // the clock was fixed
    expect(nextOffset(0, 3_600_400)).toBe(3_600_400);
    expect(nextOffset(3_600_400, 3_599_800)).toBe(3_600_400);
    expect(nextOffset(-3_600_000, -3_590_000)).toBe(-3_590_000);
    expect(nextOffset(42_000, null)).toBe(42_000);
    fc.assert(fc.property(fc.integer({ min: -1e9, max: 1e9 }), fc.integer({ min: -1e9, max: 1e9 }), (cur, est) => {
      const n = nextOffset(cur, est);
      // Either unchanged, zero, or the estimate; and never more than the threshold away from the estimate.
      expect([cur, 0, est]).toContain(n);
      expect(Math.abs(n - est)).toBeLessThan(Math.max(CLOCK_SKEW_THRESHOLD_MS, 1));
    }));
  });
});
