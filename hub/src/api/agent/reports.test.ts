import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { monotonicFactory } from "ulid";
import { signAgentJwt, type ReportItemInput } from "@outpost/shared";
import { enrolledSite, raw, startTestHub, type TestHub, type TestSite } from "../../test-support/harness.ts";

const ulid = monotonicFactory();
let t: TestHub;
let a: TestSite;
let b: TestSite;
beforeAll(async () => {
  t = await startTestHub();
  a = await enrolledSite(t, "site-a");
  b = await enrolledSite(t, "site-b");
});
afterAll(async () => { await t.stop(); });

const status = (at: string, over: Record<string, unknown> = {}): ReportItemInput => ({
  id: ulid(), at, kind: "status",
  body: { bundleVersion: 3, release: { name: "web", version: "1" }, state: "in-sync", stale: false, lastAppliedAt: at, agentVersion: "0.1.0", ...over },
});
const event = (type: "applied" | "drift-healed", message = "ok"): ReportItemInput => ({
  id: ulid(), at: new Date().toISOString(), kind: "event", body: { type, message },
});

describe("POST /agent/v1/reports", () => {
  it("stores a re-sent batch once and acks every id both times", async () => {
    const batch = [event("applied"), event("drift-healed"), { id: ulid(), at: new Date().toISOString(), kind: "telemetry" as const, body: { metrics: { cpu: 0.5 } } }];
    const ids = batch.map((r) => r.id);
    expect(await a.client.reports(batch)).toEqual({ acked: ids, stored: 3, duplicates: 0 });
    expect(await a.client.reports(batch)).toEqual({ acked: ids, stored: 0, duplicates: 3 });
    const half = [batch[0]!, event("applied")];
    expect(await a.client.reports(half)).toMatchObject({ stored: 1, duplicates: 1 });
    const stored = await t.op.reports({ site: "site-a" });
    expect(stored.filter((r) => ids.includes(r.id))).toHaveLength(3);
  });

  it("a status report moves the site's state; an older one arriving late does not", async () => {
    await b.client.reports([status("2026-01-02T00:00:00Z")]);
    expect(await t.op.getSite("site-b")).toMatchObject({ state: "in-sync", appliedVersion: 3, release: "web@1", stale: false });
    await b.client.reports([status("2026-01-01T00:00:00Z", { state: "failed", bundleVersion: 2 })]);
    expect(await t.op.getSite("site-b")).toMatchObject({ state: "in-sync", appliedVersion: 3 });
    await b.client.reports([status("2026-01-03T00:00:00Z", { state: "degraded", stale: true }), status("2026-01-02T12:00:00Z", { state: "failed" })]);
    expect(await t.op.getSite("site-b")).toMatchObject({ state: "degraded", stale: true });
  });

  it("a status from a clock running ahead does not block the next ones once the clock is fixed", async () => {
    const c = await enrolledSite(t, "site-c");
    const inAnHour = new Date(Date.now() + 3_600_000).toISOString();
    await c.client.reports([status(inAnHour, { state: "applying", bundleVersion: 4 })]);
    expect(await t.op.getSite("site-c")).toMatchObject({ state: "applying", appliedVersion: 4 });
    // NTP corrects the clock: the next status is stamped with the real time, an hour "earlier".
    await c.client.reports([status(new Date(Date.now() + 1000).toISOString(), { state: "in-sync", bundleVersion: 5 })]);
    expect(await t.op.getSite("site-c")).toMatchObject({ state: "in-sync", appliedVersion: 5 });
  });

  it("many sites reporting at once (one group commit): each report stored once, each site's own state set", async () => {
    const fleet = await Promise.all(Array.from({ length: 12 }, (_, i) => enrolledSite(t, `burst-${i}`)));
    const sent = fleet.map((s, i) => [status("2026-02-01T00:00:00Z", { bundleVersion: 10 + i }), event("applied"), event("drift-healed")]);
    // Each site sends its batch twice at the same time, as an agent retrying a lost answer would.
    const answers = await Promise.all(fleet.flatMap((s, i) => [s.client.reports(sent[i]!), s.client.reports(sent[i]!)]));
    for (let i = 0; i < fleet.length; i++) {
      const [x, y] = [answers[2 * i]!, answers[2 * i + 1]!];
      expect(x.acked).toEqual(sent[i]!.map((r) => r.id));
      expect(y.acked).toEqual(sent[i]!.map((r) => r.id));
      expect(x.stored + y.stored).toBe(3); // stored once between the two
    }
    const sites = await t.op.listSites();
    for (let i = 0; i < fleet.length; i++) expect(sites.find((s) => s.name === `burst-${i}`)).toMatchObject({ appliedVersion: 10 + i, state: "in-sync" });
    const stored = await t.op.reports({ limit: 10_000 });
    const ids = sent.flat().map((r) => r.id);
    expect(stored.filter((r) => ids.includes(r.id))).toHaveLength(ids.length);
  });

  it("operators list reports newest first, filtered by site, kind and event type", async () => {
    const all = await t.op.reports({ limit: 1000 });
    const ats = all.map((r) => Date.parse(r.at));
    expect(ats).toEqual([...ats].sort((x, y) => y - x));
    expect(new Set((await t.op.reports({ site: "site-b" })).map((r) => r.site))).toEqual(new Set(["site-b"]));
    expect(new Set((await t.op.reports({ kind: "status" })).map((r) => r.kind))).toEqual(new Set(["status"]));
    const healed = await t.op.reports({ type: "drift-healed" });
    expect(healed.length).toBeGreaterThan(0);
    expect(healed.every((r) => r.body.type === "drift-healed")).toBe(true);
    expect(await t.op.reports({ limit: 2 })).toHaveLength(2);
  });

  it("accepts a batch over 1 MiB (up to 4 MiB) and refuses a bigger one with 413", async () => {
    const big = Array.from({ length: 400 }, () => event("applied", "x".repeat(4000)));
    const res = await a.client.reports(big);
    expect(res.stored).toBe(400);
    const huge = JSON.stringify({ reports: [event("applied", "x".repeat(5 * 1024 * 1024))] });
    const refused = await raw(`${t.hub.url}/agent/v1/reports`, await signAgentJwt("site-a", a.key.privateJwk), {
      method: "POST", body: huge, headers: { "content-type": "application/json" },
    });
    expect(refused.status).toBe(413);
    expect((await refused.json()).error.code).toBe("PAYLOAD_TOO_LARGE");
  });

  it("refuses a malformed report with 400 naming the field", async () => {
    await expect(a.client.reports([{ ...event("applied"), id: "not-a-ulid" }]))
      .rejects.toMatchObject({ status: 400, code: "VALIDATION", issues: [{ path: "reports.0.id", message: "must be a ULID" }] });
  });
});
