import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { EventBody } from "@outpost/shared";
import { healthEvents, healthMetrics, parseHealth, type CephHealth, type HealthStatus } from "./health.ts";

// Verbatim from `ceph health detail --format json` on the test cluster after `ceph osd set noout`
// with a size-2 pool on one OSD.
const NOOUT = {
  status: "HEALTH_WARN",
  checks: {
    PG_DEGRADED: { severity: "HEALTH_WARN", summary: { message: "Degraded data redundancy: 5/10 objects degraded (50.000%), 4 pgs degraded", count: 4 }, detail: [{ message: "pg 2.1 is active+undersized+degraded, acting [0]" }], muted: false },
    OSDMAP_FLAGS: { severity: "HEALTH_WARN", summary: { message: "noout flag(s) set", count: 5 }, detail: [], muted: false },
  },
  mutes: [],
};
const OK: CephHealth = { status: "HEALTH_OK", checks: [] };
const warn = (...codes: string[]): CephHealth => ({ status: "HEALTH_WARN", checks: codes.map((code) => ({ code, severity: "HEALTH_WARN", summary: `${code} summary` })) });

describe("ceph health parsing", () => {
  it("keeps status, codes, severities and one-line summaries, sorted by code", () => {
    expect(parseHealth(NOOUT)).toEqual({
      status: "HEALTH_WARN",
      checks: [
        { code: "OSDMAP_FLAGS", severity: "HEALTH_WARN", summary: "noout flag(s) set" },
        { code: "PG_DEGRADED", severity: "HEALTH_WARN", summary: "Degraded data redundancy: 5/10 objects degraded (50.000%), 4 pgs degraded" },
      ],
    });
    expect(parseHealth({ status: "HEALTH_OK", checks: {}, mutes: [] })).toEqual(OK);
  });

  it("leaves out checks an operator muted", () => {
    const muted = { ...NOOUT, checks: { ...NOOUT.checks, OSDMAP_FLAGS: { ...NOOUT.checks.OSDMAP_FLAGS, muted: true } } };
    expect(parseHealth(muted).checks.map((c) => c.code)).toEqual(["PG_DEGRADED"]);
  });

  it("reads an unknown status word as an error, never as OK, and rejects output without a status", () => {
    expect(parseHealth({ status: "HEALTH_UNKNOWN", checks: {} }).status).toBe("HEALTH_ERR");
    expect(() => parseHealth({ checks: {} })).toThrow(/unexpected 'ceph health detail' output/);
  });

  it("telemetry: 0/1/2 for OK/WARN/ERR and the number of active checks", () => {
    expect(healthMetrics(OK)).toEqual({ "ceph.health": 0, "ceph.health.checks": 0 });
    expect(healthMetrics(parseHealth(NOOUT))).toEqual({ "ceph.health": 1, "ceph.health.checks": 2 });
    expect(healthMetrics({ status: "HEALTH_ERR", checks: [] })["ceph.health"]).toBe(2);
  });
});

describe("ceph-health events", () => {
  it("a new warning is a warning event naming the check and its summary", () => {
    const [e, ...rest] = healthEvents(OK, parseHealth(NOOUT));
    expect(rest).toEqual([]);
    expect(e).toMatchObject({ type: "ceph-health", severity: "warning", code: "HEALTH_WARN", details: { previous: "HEALTH_OK", added: ["OSDMAP_FLAGS", "PG_DEGRADED"], cleared: [] } });
    expect(e!.message).toContain("OSDMAP_FLAGS: noout flag(s) set");
    expect(EventBody.parse(e)).toBeTruthy(); // the hub accepts it as is
  });

  it("back to HEALTH_OK is an info event naming what cleared", () => {
    const [e] = healthEvents(warn("OSDMAP_FLAGS"), OK);
    expect(e).toMatchObject({ severity: "info", code: "HEALTH_OK", message: "ceph health is back to HEALTH_OK (cleared: OSDMAP_FLAGS)", details: { cleared: ["OSDMAP_FLAGS"], added: [] } });
  });

  it("a check appearing or clearing while the status stays WARN is an event; a reworded summary is not", () => {
    expect(healthEvents(warn("A"), warn("A", "B"))[0]?.details.added).toEqual(["B"]);
    expect(healthEvents(warn("A", "B"), warn("B"))[0]?.details.cleared).toEqual(["A"]);
    const reworded: CephHealth = { status: "HEALTH_WARN", checks: [{ code: "A", severity: "HEALTH_WARN", summary: "4/10 objects degraded" }] };
    expect(healthEvents(warn("A"), reworded)).toEqual([]);
  });

  it("a check turning from WARN to ERR is an error event", () => {
    const err: CephHealth = { status: "HEALTH_ERR", checks: [{ code: "A", severity: "HEALTH_ERR", summary: "worse" }] };
    expect(healthEvents(warn("A"), err)[0]).toMatchObject({ severity: "error", code: "HEALTH_ERR" });
  });

  it("at agent start: silent when healthy, an event when not", () => {
    expect(healthEvents(undefined, OK)).toEqual([]);
    expect(healthEvents(undefined, warn("A"))[0]).toMatchObject({ severity: "warning", details: { previous: null, added: ["A"] } });
  });

  const statusArb = fc.constantFrom<HealthStatus>("HEALTH_OK", "HEALTH_WARN", "HEALTH_ERR");
  const healthArb: fc.Arbitrary<CephHealth> = fc.record({
    status: statusArb,
    checks: fc.uniqueArray(fc.record({ code: fc.constantFrom("A", "B", "OSDMAP_FLAGS", "PG_DEGRADED"), severity: statusArb, summary: fc.string({ maxLength: 3000 }) }), { selector: (c) => c.code, maxLength: 4 })
      .map((cs) => cs.sort((a, b) => (a.code < b.code ? -1 : 1))),
  });
  const key = (h: CephHealth) => JSON.stringify([h.status, h.checks.map((c) => [c.code, c.severity])]);

  it("property: an event exactly when status or the (code, severity) set changed; always a valid event body", () => {
    fc.assert(fc.property(healthArb, healthArb, (a, b) => {
      const events = healthEvents(a, b);
      expect(events.length).toBe(key(a) === key(b) ? 0 : 1);
      for (const e of events) {
        EventBody.parse(e);
        expect(e.code).toBe(b.status);
        expect(e.severity).toBe({ HEALTH_OK: "info", HEALTH_WARN: "warning", HEALTH_ERR: "error" }[b.status]);
      }
    }), { numRuns: 500 });
  });

  it("property: replaying a sequence of observations emits one event per change, none for repeats", () => {
    fc.assert(fc.property(fc.array(healthArb, { maxLength: 12 }), (seq) => {
      let prev: CephHealth | undefined;
      let events = 0;
      let changes = 0;
      for (const h of [...seq, ...seq.slice(-1)]) { // the last one twice: the repeat is silent
        events += healthEvents(prev, h).length;
        if (prev ? key(prev) !== key(h) : key(h) !== key(OK)) changes++;
        prev = h;
      }
      expect(events).toBe(changes);
    }));
  });
});
