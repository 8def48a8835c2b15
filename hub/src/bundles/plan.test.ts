import { describe, expect, it } from "vitest";
import { BundlePayload, SelectorError, Spec } from "@outpost/shared";
import { bundlePayload, nextVersion, selectSites } from "./plan.ts";

const fleet = [
  { name: "eu-1", status: "approved", labels: { region: "eu", tier: "prod" } },
  { name: "eu-2", status: "approved", labels: { region: "eu", tier: "canary" } },
  { name: "us-1", status: "approved", labels: { region: "us", tier: "prod" } },
  { name: "eu-3", status: "pending", labels: { region: "eu", tier: "prod" } },
  { name: "eu-4", status: "revoked", labels: { region: "eu", tier: "prod" } },
];

describe("selectSites", () => {
  it("takes only approved sites whose labels match", () => {
    expect(selectSites("region=eu", fleet).map((s) => s.name)).toEqual(["eu-1", "eu-2"]);
    expect(selectSites("region in (eu,us),tier!=canary", fleet).map((s) => s.name)).toEqual(["eu-1", "us-1"]);
  });
  it("an empty selector means every approved site", () => {
    expect(selectSites("", fleet).map((s) => s.name)).toEqual(["eu-1", "eu-2", "us-1"]);
  });
  it("refuses a malformed selector with a message naming the bad term", () => {
    expect(() => selectSites("region=eu,=x", fleet)).toThrow(SelectorError);
    expect(() => selectSites("a in (b", fleet)).toThrow(/a in \(b|'\('/);
  });
});

describe("nextVersion", () => {
  it("starts at 1 and follows the site's own previous maximum", () => {
    expect(nextVersion(null)).toBe(1);
    expect(nextVersion(undefined)).toBe(1);
    expect(nextVersion(7)).toBe(8);
  });
});

describe("bundlePayload", () => {
  it("builds a payload the shared schema accepts, expiring ttlHours after issue", () => {
    const now = new Date("2026-01-01T00:00:00.000Z");
    const p = bundlePayload({
      site: "eu-1", version: 3, now, ttlHours: 168, keysVersion: 2,
      release: { name: "web", version: "1.2", spec: Spec.parse({}), artifacts: [] },
    });
    const parsed = BundlePayload.parse(p);
    expect(parsed).toMatchObject({ apiVersion: "outpost/v1", site: "eu-1", version: 3, keysVersion: 2, release: { name: "web", version: "1.2" } });
    expect(parsed.expiresAt).toBe("2026-01-08T00:00:00.000Z");
  });
});
