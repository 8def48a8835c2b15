import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseEnrollmentToken } from "@outpost/shared";
import { enrolledSite, newSite, raw, startTestHub, type TestHub } from "../../test-support/harness.ts";

let t: TestHub;
beforeAll(async () => { t = await startTestHub(); });
afterAll(async () => { await t.stop(); });

describe("operator API", () => {
  it("GET /healthz needs no token", async () => {
    const res = await fetch(`${t.hub.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });
  });

  it("a token pins the hub's current root and can be used as many times as it says", async () => {
    const created = await t.op.createToken({ uses: 2, labels: { region: "eu" }, expiresInHours: 2 });
    expect(created.uses).toBe(2);
    expect(Date.parse(created.expiresAt) - Date.now()).toBeGreaterThan(3600_000);
    expect(parseEnrollmentToken(created.token)).toMatchObject({ rootHash: t.hub.rootHash, id: created.id });
    for (const name of ["tok-1", "tok-2"]) {
      const s = await newSite(t, name);
      await s.client.enroll({ token: created.token, site: name, publicKey: s.key.publicJwk });
    }
    const listed = await t.op.listSites();
    expect(listed.filter((s) => s.name.startsWith("tok-")).map((s) => [s.name, s.status, s.labels.region])).toEqual([
      ["tok-1", "pending", "eu"], ["tok-2", "pending", "eu"],
    ]);
  });

  it("approving is idempotent and shows up in the site view", async () => {
    await enrolledSite(t, "appr", { approve: false });
    expect((await t.op.getSite("appr")).status).toBe("pending");
    expect((await t.op.approveSite("appr")).status).toBe("approved");
    expect((await t.op.approveSite("appr")).status).toBe("approved");
    // The CLI may send no body at all.
    const res = await raw(`${t.hub.url}/api/v1/sites/appr/approve`, t.hub.adminToken, { method: "POST" });
    expect(res.status).toBe(200);
  });

  it("PATCH labels sets and removes keys, and the next assignment follows the new labels", async () => {
    await enrolledSite(t, "lab", { labels: { region: "eu", rack: "r1" } });
    const view = await t.op.labelSite("lab", { region: "us", tier: "canary" }, ["rack"]);
    expect(view.labels).toEqual({ region: "us", tier: "canary" });
    await t.op.createRelease({ name: "lbl", version: "1", spec: {} });
    expect((await t.op.assign({ name: "lbl", version: "1" }, "region=us,tier=canary")).assigned.map((a) => a.site)).toEqual(["lab"]);
  });

  it("releases are listed newest first with their spec, defaults filled in", async () => {
    await t.op.createRelease({ name: "rel", version: "1.0.0", description: "first", spec: { agent: { pollIntervalSeconds: 5 } } });
    await t.op.createRelease({ name: "rel", version: "1.0.1", spec: {} });
    const list = (await t.op.listReleases()).filter((r) => r.name === "rel");
    expect(list.map((r) => r.version)).toEqual(["1.0.1", "1.0.0"]);
    expect(list[1]).toMatchObject({ description: "first", spec: { agent: { pollIntervalSeconds: 5, healIntervalSeconds: 60 } }, artifacts: [] });
  });

  it("answers every response with an x-request-id", async () => {
    const res = await raw(`${t.hub.url}/api/v1/sites`, t.hub.adminToken);
    expect(res.headers.get("x-request-id")).toMatch(/^[0-9A-Z]{26}$/);
  });
});
