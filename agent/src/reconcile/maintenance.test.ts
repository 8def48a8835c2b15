import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { disruptionAllowed, windowOpen } from "./maintenance.ts";

const at = (iso: string) => new Date(iso);
const utc = (cron: string, durationMinutes: number) => ({ cron, durationMinutes, timezone: "UTC" });

describe("maintenance windows", () => {
  it("no windows: no restriction", () => {
    expect(disruptionAllowed([], new Date())).toBe(true);
  });

  it("opens at the cron time for durationMinutes", () => {
    const w = utc("0 2 * * *", 60);
    expect(windowOpen(w, at("2025-03-04T01:59:59Z"))).toBe(false);
    expect(windowOpen(w, at("2025-03-04T02:00:00Z"))).toBe(true);
    expect(windowOpen(w, at("2025-03-04T02:59:59Z"))).toBe(true);
    expect(windowOpen(w, at("2025-03-04T03:00:00Z"))).toBe(false);
    expect(disruptionAllowed([utc("0 5 * * *", 10), w], at("2025-03-04T02:30:00Z"))).toBe(true);
  });

  it("reads the cron in the window's timezone", () => {
    const w = { cron: "0 2 * * *", durationMinutes: 30, timezone: "Europe/Berlin" };
    expect(windowOpen(w, at("2025-01-15T01:10:00Z"))).toBe(true); // 02:10 in Berlin (UTC+1)
    expect(windowOpen(w, at("2025-01-15T02:10:00Z"))).toBe(false);
    expect(windowOpen(w, at("2025-07-15T00:10:00Z"))).toBe(true); // summer time, UTC+2
  });

  it("spans midnight and applies cron's day-of-month OR day-of-week rule", () => {
    expect(windowOpen(utc("30 23 * * 6", 120), at("2025-03-09T01:00:00Z"))).toBe(true); // Sat 23:30 + 2 h, now Sunday 01:00
    const w = utc("0 0 1 * 1", 60); // the 1st, or any Monday
    expect(windowOpen(w, at("2025-03-03T00:30:00Z"))).toBe(true); // Monday 3rd
    expect(windowOpen(w, at("2025-04-01T00:30:00Z"))).toBe(true); // Tuesday 1st
    expect(windowOpen(w, at("2025-03-04T00:30:00Z"))).toBe(false); // Tuesday 4th
  });

  it("understands L (last day of month) and #n (n-th weekday)", () => {
    expect(windowOpen(utc("0 22 L * *", 60), at("2025-02-28T22:10:00Z"))).toBe(true);
    expect(windowOpen(utc("0 22 L * *", 60), at("2025-02-27T22:10:00Z"))).toBe(false);
    expect(windowOpen(utc("0 3 * * 6#2", 60), at("2025-03-08T03:10:00Z"))).toBe(true); // 2nd Saturday
    expect(windowOpen(utc("0 3 * * 6#2", 60), at("2025-03-01T03:10:00Z"))).toBe(false); // 1st Saturday
  });

  it("an expression or timezone it cannot understand opens nothing", () => {
    expect(windowOpen(utc("not a cron", 60), new Date())).toBe(false);
    expect(windowOpen({ cron: "* * * * *", durationMinutes: 60, timezone: "Mars/Olympus" }, new Date())).toBe(false);
  });

  it("property: open from the matching minute for exactly durationMinutes", () => {
    fc.assert(fc.property(
      fc.integer({ min: 0, max: 59 }), fc.integer({ min: 0, max: 23 }), fc.integer({ min: 1, max: 600 }),
      fc.integer({ min: Date.UTC(2020, 0, 1) / 86_400_000, max: Date.UTC(2030, 0, 1) / 86_400_000 }),
      fc.integer({ min: 0, max: 59_999 }),
      (m, h, dur, day, jitter) => {
        const start = day * 86_400_000 + h * 3_600_000 + m * 60_000;
        const w = utc(`${m} ${h} * * *`, dur);
        return windowOpen(w, new Date(start + jitter)) && windowOpen(w, new Date(start + (dur - 1) * 60_000 + jitter))
          && !windowOpen(w, new Date(start + dur * 60_000 + jitter)) && !windowOpen(w, new Date(start - 60_000 + jitter));
      }), { numRuns: 200 });
  });
});
