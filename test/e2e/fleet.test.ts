import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Fleet } from "../lib/fleet.ts";
import { storeRelease } from "../lib/releases.ts";
import { waitFor } from "../lib/processes.ts";

/** Hub + three agent processes over real HTTP on loopback, real libSQL files, sim drivers. */
describe("a hub and three sites, end to end", () => {
  const fleet = new Fleet();
  const sites = { "store-eu-1": "eu", "store-eu-2": "eu", "store-us-1": "us" } as const;
  const names = Object.keys(sites);

  beforeAll(async () => {
    await fleet.startHub();
    for (const [site, region] of Object.entries(sites)) await fleet.startAgent(site, { labels: { region } });
  });
  afterAll(() => fleet.close());

  it("enrolls sites as pending until an operator approves them", async () => {
    const listed = await waitFor("three enrolled sites", async () => {
      const all = await fleet.op.listSites();
      return all.length === 3 ? all : null;
    });
    expect(listed.map((s) => s.status)).toEqual(["pending", "pending", "pending"]);
    expect(Object.fromEntries(listed.map((s) => [s.name, s.labels.region]))).toEqual(sites);
    for (const n of names) await fleet.op.approveSite(n);
    expect((await fleet.op.listSites()).every((s) => s.status === "approved")).toBe(true);
  });

  it("assigns a release to every site and all three report it applied", async () => {
    await fleet.op.createRelease(storeRelease("1.0"));
    const r = await fleet.op.assign({ name: "store", version: "1.0" }, "");
    expect(r.assigned.map((a) => a.site).sort()).toEqual([...names].sort());
    expect(new Set(r.assigned.map((a) => a.version))).toEqual(new Set([1]));
    await fleet.waitApplied(names, () => 1);
    for (const n of names) {
      const applied = await fleet.events(n, "applied");
      expect(applied.map((e) => e.body.bundleVersion)).toContain(1);
      expect((await fleet.site(n)).release).toBe("store@1.0");
    }
  });

  it("a release assigned to one label moves only those sites", async () => {
    await fleet.op.createRelease(storeRelease("1.1", { instances: 3 }));
    const r = await fleet.op.assign({ name: "store", version: "1.1" }, "region=eu");
    expect(r.assigned.map((a) => a.site).sort()).toEqual(["store-eu-1", "store-eu-2"]);
    await fleet.waitApplied(["store-eu-1", "store-eu-2"], () => 2);
    const us = await fleet.site("store-us-1");
    expect(us.bundleVersion).toBe(1);
    expect(us.appliedVersion).toBe(1);
    expect(us.release).toBe("store@1.0");
    expect((await fleet.site("store-eu-1")).release).toBe("store@1.1");
  });
});
