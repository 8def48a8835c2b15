import { ulid } from "ulid";
import { describe, expect, it } from "vitest";
import { BundleQuery, EnrollRequest, MAX_DETAILS_DEPTH, MAX_LONG_POLL_S, MAX_REPORTS_PER_POST, nestsAtMost, ReportItem, ReportsRequest } from "./agent.ts";
import { LabelMap } from "./labels.ts";
import { AssignRequest, CreateReleaseRequest } from "./operator.ts";

const at = "2031-03-01T12:00:00.000Z";
const status = { bundleVersion: 3, release: { name: "base", version: "1" }, state: "in-sync", stale: false, lastAppliedAt: at, agentVersion: "0.1.0" };

describe("agent protocol schemas", () => {
  it("a report is exactly one of status, telemetry, event, with defaults filled", () => {
    expect(ReportItem.parse({ id: ulid(), at, kind: "status", body: status }).body).toMatchObject({ pendingSteps: 0 });
    expect(ReportItem.parse({ id: ulid(), at, kind: "event", body: { type: "drift-healed", message: "x" } }).body).toMatchObject({ severity: "info" });
    // A body of the wrong kind is refused, not coerced.
    expect(ReportItem.safeParse({ id: ulid(), at, kind: "telemetry", body: status }).success).toBe(false);
    expect(ReportItem.safeParse({ id: ulid(), at, kind: "event", body: { type: "made-up", message: "x" } }).success).toBe(false);
  });

  it("event details nest at most MAX_DETAILS_DEPTH levels (deeper JSON cannot be stored: found by test/faults)", () => {
    // `levels` objects one inside the other, details itself the outermost.
    const nested = (levels: number) => { let v: unknown = 1; for (let i = 0; i < levels; i++) v = { k: v }; return v as Record<string, unknown>; };
    const event = (details: Record<string, unknown>) => ({ id: ulid(), at, kind: "event", body: { type: "applied", message: "x", details } });
    expect(ReportItem.safeParse(event(nested(MAX_DETAILS_DEPTH))).success).toBe(true);
    const refused = ReportItem.safeParse(event(nested(MAX_DETAILS_DEPTH + 1)));
    expect(refused.error?.issues[0]?.path).toEqual(["body", "details"]);
    // Checked without recursion: a hundred thousand levels is answered, not a stack overflow.
    expect(nestsAtMost(JSON.parse("[".repeat(100_000) + "]".repeat(100_000)), 32)).toBe(false);
    expect(nestsAtMost({ a: [1, { b: [] }], c: "x" }, 4)).toBe(true);
    expect(nestsAtMost({ a: [1, { b: [] }] }, 3)).toBe(false);
  });

  it("report ids must be ULIDs (the hub de-duplicates on them)", () => {
    expect(ReportItem.safeParse({ id: "not-a-ulid", at, kind: "status", body: status }).success).toBe(false);
    expect(ReportItem.safeParse({ id: ulid().toLowerCase(), at, kind: "status", body: status }).success).toBe(false);
  });

  it("a reports POST carries 1 to MAX_REPORTS_PER_POST items", () => {
    const item = () => ({ id: ulid(), at, kind: "telemetry", body: { metrics: { cpu: 0.5 } } });
    expect(ReportsRequest.safeParse({ reports: [] }).success).toBe(false);
    expect(ReportsRequest.safeParse({ reports: Array.from({ length: MAX_REPORTS_PER_POST }, item) }).success).toBe(true);
    expect(ReportsRequest.safeParse({ reports: Array.from({ length: MAX_REPORTS_PER_POST + 1 }, item) }).success).toBe(false);
  });

  it("telemetry holds at most 256 metrics", () => {
    const metrics = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`m${i}`, i]));
    expect(ReportItem.safeParse({ id: ulid(), at, kind: "telemetry", body: { metrics: metrics(256) } }).success).toBe(true);
    expect(ReportItem.safeParse({ id: ulid(), at, kind: "telemetry", body: { metrics: metrics(257) } }).success).toBe(false);
  });

  it("bundle long-poll query: coerces strings, caps the wait", () => {
    expect(BundleQuery.parse({ known: "7", wait: "30" })).toEqual({ known: 7, wait: 30 });
    expect(BundleQuery.parse({})).toEqual({ known: 0, wait: 0 });
    expect(BundleQuery.safeParse({ wait: String(MAX_LONG_POLL_S + 1) }).success).toBe(false);
    expect(BundleQuery.safeParse({ known: "-1" }).success).toBe(false);
    expect(BundleQuery.safeParse({ known: "abc" }).success).toBe(false);
  });

  it("enrollment needs an Ed25519 public JWK and a DNS-label site name", () => {
    const publicKey = { kty: "OKP", crv: "Ed25519", x: "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo" };
    expect(EnrollRequest.parse({ token: "t", site: "edge-1", publicKey })).toMatchObject({ labels: {} });
    expect(EnrollRequest.safeParse({ token: "t", site: "Edge_1", publicKey }).success).toBe(false);
    expect(EnrollRequest.safeParse({ token: "t", site: "edge-1", publicKey: { ...publicKey, crv: "X25519" } }).success).toBe(false);
    expect(EnrollRequest.safeParse({ token: "t", site: "edge-1", publicKey, admin: true }).success).toBe(false);
  });

  it("label maps: at most 64 labels with well-formed keys and values", () => {
    expect(LabelMap.safeParse({ region: "eu", "outpost.io/zone": "z1", empty: "" }).success).toBe(true);
    expect(LabelMap.safeParse(Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, "v"]))).success).toBe(false);
    for (const bad of [{ "-k": "v" }, { k: "a b" }, { k: "x".repeat(64) }, { "": "v" }]) expect(LabelMap.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
  });
});

describe("operator protocol schemas", () => {
  it("a release carries a full spec and validated artifacts", () => {
    const r = CreateReleaseRequest.parse({ name: "base", version: "1.2.0+build.7", spec: {} });
    expect(r.spec.lxd.instances).toEqual([]);
    expect(CreateReleaseRequest.safeParse({ name: "base", version: "1 0", spec: {} }).success).toBe(false);
    expect(CreateReleaseRequest.safeParse({ name: "../x", version: "1", spec: {} }).success).toBe(false);
  });

  it("an assignment needs a release and a selector; maxSites is positive", () => {
    expect(AssignRequest.safeParse({ release: { name: "base", version: "1" }, selector: "region=eu", maxSites: 0 }).success).toBe(false);
    expect(AssignRequest.parse({ release: { name: "base", version: "1" }, selector: "" })).toEqual({ release: { name: "base", version: "1" }, selector: "" });
  });
});
