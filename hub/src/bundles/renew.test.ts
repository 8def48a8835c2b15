import { afterEach, describe, expect, it } from "vitest";
import { verifyBundle } from "@outpost/shared";
import { agentTrust, enrolledSite, startTestHub, type TestHub } from "../test-support/harness.ts";
import { needsRenewal, renewalIntervalMs, renewBundles } from "./renew.ts";

const H = 3600_000;

describe("needsRenewal", () => {
  const now = new Date("2026-01-01T00:00:00Z");
  it("renews once half the lifetime is gone, not before", () => {
    expect(needsRenewal({ expiresAt: new Date(now.getTime() + 100 * H), kid: "k" }, now, 168, "k")).toBe(false);
    expect(needsRenewal({ expiresAt: new Date(now.getTime() + 83 * H), kid: "k" }, now, 168, "k")).toBe(true);
    expect(needsRenewal({ expiresAt: new Date(now.getTime() - H), kid: "k" }, now, 168, "k")).toBe(true);
  });
  it("renews a bundle signed by a key that is no longer the active one", () => {
    expect(needsRenewal({ expiresAt: new Date(now.getTime() + 160 * H), kid: "old" }, now, 168, "new")).toBe(true);
  });
  it("checks a quarter lifetime apart, between a second and an hour", () => {
    expect(renewalIntervalMs(168)).toBe(H);
    expect(renewalIntervalMs(1)).toBe(H / 4);
    expect(renewalIntervalMs(1 / 3600)).toBe(1000);
  });
});

describe("renewBundles on a real hub", () => {
  let t: TestHub | undefined;
  afterEach(async () => { await t?.stop(); t = undefined; });

  it("re-issues the same release as a higher version once a bundle is past half-life, only for those sites", async () => {
    t = await startTestHub({ bundleTtlHours: 10 });
    const a = await enrolledSite(t, "renew-a");
    await enrolledSite(t, "renew-b");
    await t.op.createRelease({ name: "base", version: "1", spec: {} });
    await t.op.assign({ name: "base", version: "1" }, "");
    const deps = { hub: t.hub.db, keys: t.hub.keys, notifier: t.hub.notifier, bundleTtlHours: 10 };

    expect(await renewBundles({ ...deps, now: () => new Date() })).toEqual([]);
    const later = new Date(Date.now() + 6 * H);
    const renewed = await renewBundles({ ...deps, now: () => later });
    expect(renewed.sort((x, y) => x.site.localeCompare(y.site))).toEqual([{ site: "renew-a", version: 2 }, { site: "renew-b", version: 2 }]);
    // A second pass at the same moment has nothing left to do.
    expect(await renewBundles({ ...deps, now: () => later })).toEqual([]);

    const got = await a.client.bundle(1, 0);
    if (got.status !== 200) throw new Error("expected the renewed bundle");
    const { payload } = await verifyBundle({ ...(await agentTrust(t, a)), bundleVersion: 1 }, got.jws, later);
    expect(payload).toMatchObject({ version: 2, release: { name: "base", version: "1" } });
    expect(Date.parse(payload.expiresAt)).toBe(later.getTime() + 10 * H);
  });

  it("re-signs every site's bundle after the signing key is rotated", async () => {
    t = await startTestHub();
    await enrolledSite(t, "rot-a");
    await t.op.createRelease({ name: "base", version: "1", spec: {} });
    await t.op.assign({ name: "base", version: "1" }, "");
    await t.hub.keys.rotateSigningKey({ retireReason: "scheduled rotation" });
    const renewed = await renewBundles({ hub: t.hub.db, keys: t.hub.keys, notifier: t.hub.notifier, bundleTtlHours: 168, now: () => new Date() });
    expect(renewed).toEqual([{ site: "rot-a", version: 2 }]);
  });
});
