import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyBundle } from "@outpost/shared";
import { agentTrust, enrolledSite, snapshotDb, startTestHub, type TestHub, type TestSite } from "../../test-support/harness.ts";

let t: TestHub;
const sites: Record<string, TestSite> = {};
beforeAll(async () => {
  t = await startTestHub();
  sites["eu-1"] = await enrolledSite(t, "eu-1", { labels: { region: "eu", tier: "prod" } });
  sites["eu-2"] = await enrolledSite(t, "eu-2", { labels: { region: "eu", tier: "canary" } });
  sites["us-1"] = await enrolledSite(t, "us-1", { labels: { region: "us", tier: "prod" } });
  sites["eu-p"] = await enrolledSite(t, "eu-p", { labels: { region: "eu" }, approve: false });
  await t.op.createRelease({ name: "web", version: "1", spec: { lxd: { instances: [{ name: "web1", image: { alias: "debian" } }] } } });
  await t.op.createRelease({ name: "web", version: "2", spec: { lxd: { instances: [{ name: "web1", image: { alias: "debian" } }, { name: "web2", image: { alias: "debian" } }] } } });
});
afterAll(async () => { await t.stop(); });

const versions = async () => Object.fromEntries((await t.op.listSites()).map((s) => [s.name, s.bundleVersion]));

describe("POST /api/v1/assignments", () => {
  it("issues version+1 only to the approved sites the selector matches", async () => {
    const usPoll = sites["us-1"]!.client.bundle(0, 2);
    const first = await t.op.assign({ name: "web", version: "1" }, "region=eu");
    expect(first).toEqual({ release: { name: "web", version: "1" }, assigned: [{ site: "eu-1", version: 1 }, { site: "eu-2", version: 1 }] });
    expect(await usPoll).toEqual({ status: 204 }); // not woken by another site's bundle
    const second = await t.op.assign({ name: "web", version: "2" }, "region=eu,tier=canary");
    expect(second.assigned).toEqual([{ site: "eu-2", version: 2 }]);
    const third = await t.op.assign({ name: "web", version: "2" }, "tier in (prod)");
    expect(third.assigned).toEqual([{ site: "eu-1", version: 2 }, { site: "us-1", version: 1 }]);
    expect(await versions()).toEqual({ "eu-1": 2, "eu-2": 2, "us-1": 1, "eu-p": null });
  });

  it("each site's bundle verifies for that site, carries the release, and is refused by any other site", async () => {
    for (const name of ["eu-1", "eu-2", "us-1"]) {
      const s = sites[name]!;
      const got = await s.client.bundle(0, 0);
      if (got.status !== 200) throw new Error(`no bundle for ${name}`);
      const { payload } = await verifyBundle(await agentTrust(t, s), got.jws, new Date());
      expect(payload.site).toBe(name);
      expect(payload.release).toEqual({ name: "web", version: "2" });
      expect(payload.spec.lxd.instances.map((i) => i.name)).toEqual(["web1", "web2"]);
      const other = name === "eu-1" ? sites["eu-2"]! : sites["eu-1"]!;
      await expect(verifyBundle(await agentTrust(t, other), got.jws, new Date())).rejects.toMatchObject({ code: "BUNDLE_WRONG_SITE" });
    }
  });

  it("refuses more matches than maxSites with 409 and issues nothing", async () => {
    const before = await snapshotDb(t.hub.db);
    await expect(t.op.assign({ name: "web", version: "1" }, "", 2)).rejects.toMatchObject({ status: 409, code: "TOO_MANY_SITES" });
    expect(await snapshotDb(t.hub.db)).toEqual(before);
    expect((await t.op.assign({ name: "web", version: "1" }, "region=us", 1)).assigned).toEqual([{ site: "us-1", version: 2 }]);
  });

  it("an unknown release is 404 and changes nothing", async () => {
    const before = await snapshotDb(t.hub.db);
    await expect(t.op.assign({ name: "web", version: "9" }, "region=eu")).rejects.toMatchObject({ status: 404, code: "RELEASE_NOT_FOUND" });
    expect(await snapshotDb(t.hub.db)).toEqual(before);
  });

  it("concurrent assignments give one site distinct, consecutive versions", async () => {
    const start = (await t.op.getSite("us-1")).bundleVersion!;
    const results = await Promise.all(Array.from({ length: 10 }, () => t.op.assign({ name: "web", version: "1" }, "region=us")));
    const got = results.map((r) => r.assigned[0]!.version).sort((x, y) => x - y);
    expect(got).toEqual(Array.from({ length: 10 }, (_, i) => start + 1 + i));
  });

  it("a selector that matches nothing assigns nothing", async () => {
    expect((await t.op.assign({ name: "web", version: "1" }, "region=mars")).assigned).toEqual([]);
  });
});
