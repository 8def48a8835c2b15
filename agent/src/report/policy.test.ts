import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { chooseDrops, type QueuedKind } from "./policy.ts";

const queueArb = fc.array(fc.constantFrom<QueuedKind>("status", "telemetry", "event"), { maxLength: 200 })
  .map((kinds) => kinds.map((kind, i) => ({ id: String(i).padStart(6, "0"), kind })));

describe("outbox drop policy", () => {
  it("never drops an event", () => {
    fc.assert(fc.property(queueArb, fc.integer({ min: 0, max: 250 }), (q, max) => {
      const drops = new Set(chooseDrops(q, max));
      for (const item of q) if (item.kind === "event") expect(drops.has(item.id)).toBe(false);
    }));
  });

  it("drops exactly the excess when enough non-events exist, otherwise every non-event", () => {
    fc.assert(fc.property(queueArb, fc.integer({ min: 0, max: 250 }), (q, max) => {
      const drops = chooseDrops(q, max);
      const nonEvents = q.filter((x) => x.kind !== "event").length;
      expect(drops.length).toBe(Math.min(Math.max(0, q.length - max), nonEvents));
      expect(new Set(drops).size).toBe(drops.length);
      // what is left fits, unless only events are left
      const left = q.length - drops.length;
      expect(left <= max || q.filter((x) => !drops.includes(x.id)).every((x) => x.kind === "event")).toBe(true);
    }));
  });

  it("drops the oldest telemetry first, then the oldest status", () => {
    fc.assert(fc.property(queueArb, fc.integer({ min: 0, max: 250 }), (q, max) => {
      const drops = new Set(chooseDrops(q, max));
      const tele = q.filter((x) => x.kind === "telemetry");
      const stat = q.filter((x) => x.kind === "status");
      // a status report is dropped only once all telemetry is gone
      if (stat.some((s) => drops.has(s.id))) expect(tele.every((t) => drops.has(t.id))).toBe(true);
      // within a kind, dropped ones are a prefix (the oldest)
      for (const list of [tele, stat]) {
        const flags = list.map((x) => drops.has(x.id));
        const firstKept = flags.indexOf(false);
        if (firstKept >= 0) expect(flags.slice(firstKept).every((f) => !f)).toBe(true);
      }
    }));
  });

  it("keeps everything under the bound", () => {
    expect(chooseDrops([{ id: "1", kind: "telemetry" }], 10)).toEqual([]);
    expect(chooseDrops([{ id: "1", kind: "event" }, { id: "2", kind: "event" }], 1)).toEqual([]);
    expect(chooseDrops([{ id: "1", kind: "status" }, { id: "2", kind: "telemetry" }, { id: "3", kind: "event" }], 2)).toEqual(["2"]);
  });
});
