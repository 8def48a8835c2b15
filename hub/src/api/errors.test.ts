import { describe, expect, it } from "vitest";
import { CreateReleaseRequest, ReportsRequest } from "@outpost/shared";
import { issuesFrom } from "./errors.ts";
import { ifNoneMatchHits } from "./agent/etag.ts";

const issues = (schema: { safeParse(v: unknown): { success: boolean; error?: unknown } }, v: unknown) => {
  const r = schema.safeParse(v);
  if (r.success) throw new Error("expected a failure");
  return issuesFrom((r.error as { issues: never[] }).issues);
};

describe("issuesFrom", () => {
  it("names the nested field at fault", () => {
    const got = issues(CreateReleaseRequest, { name: "web", version: "1", spec: { lxd: { instances: [{ name: "bad name!", image: { alias: "x" } }] } } });
    expect(got.map((i) => i.path)).toContain("spec.lxd.instances.0.name");
  });
  it("reports an unknown field at its own path", () => {
    const got = issues(CreateReleaseRequest, { name: "web", version: "1", spec: { lxd: { instancez: [] } } });
    expect(got).toEqual([{ path: "spec.lxd.instancez", message: "unknown field" }]);
  });
  it("follows the union branch a report was meant for", () => {
    const got = issues(ReportsRequest, { reports: [{ id: "01ARZ3NDEKTSV4RRFFQ69G5FAV", at: "2026-01-01T00:00:00Z", kind: "event", body: { type: "nope", message: "" } }] });
    expect(got.map((i) => i.path)).toContain("reports.0.body.type");
  });
});

describe("ifNoneMatchHits", () => {
  it("matches exact, weak and listed tags, and * only when something exists", () => {
    expect(ifNoneMatchHits('"v3"', '"v3"', true)).toBe(true);
    expect(ifNoneMatchHits('W/"v3"', '"v3"', true)).toBe(true);
    expect(ifNoneMatchHits('"v1", "v3"', '"v3"', true)).toBe(true);
    expect(ifNoneMatchHits('"v2"', '"v3"', true)).toBe(false);
    expect(ifNoneMatchHits("*", '"v0"', false)).toBe(false);
    expect(ifNoneMatchHits(undefined, '"v3"', true)).toBe(false);
  });
});
