import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { enrolledSite, raw, snapshotDb, startTestHub, type TestHub, type TestSite } from "../test-support/harness.ts";
import { evaluate } from "./engine.ts";
import { RolloutScheduler } from "./scheduler.ts";
import { applyDecisions, loadRollout } from "./store.ts";

/**
 * The engine's I/O on a real hub (real HTTP, real libSQL file) with its timer off: every tick is
 * driven here with an explicit clock, so windows, timeouts and leases are tested without sleeping.
 * Sites are enrolled agent identities that report status themselves over the agent API.
 */
let t: TestHub;
const sites: Record<string, TestSite> = {};
const quiet = pino({ level: "silent" });
const deps = () => ({ hub: t.hub.db, keys: t.hub.keys, notifier: t.hub.notifier, bundleTtlHours: 24, now: () => new Date() });

beforeAll(async () => {
  t = await startTestHub({ rolloutTickSeconds: 0 });
  const zones: Record<string, string> = { "lis-1": "Europe.Lisbon", "lis-2": "Europe.Lisbon", "nyc-1": "America.New_York" };
  for (const [name, tz] of Object.entries(zones)) sites[name] = await enrolledSite(t, name, { labels: { timezone: tz, region: name.slice(0, 3) } });
  await t.op.createRelease({ name: "pos", version: "1", spec: {} });
  await t.op.createRelease({ name: "pos", version: "2", spec: { lxd: { instances: [{ name: "till", image: { alias: "pos-2" } }] } } });
  await t.op.assign({ name: "pos", version: "1" }, "");
});
afterAll(async () => { await t.stop(); });

const bundleVersions = async () => Object.fromEntries((await t.op.listSites()).map((s) => [s.name, s.bundleVersion]));
/** What an agent reports after applying (or failing) a bundle. */
async function report(site: string, version: number, state: "in-sync" | "failed", at: Date) {
  const { ulid } = await import("ulid");
  await sites[site]!.client.reports([{
    id: ulid(), at: at.toISOString(), kind: "status",
    body: { bundleVersion: version, release: { name: "pos", version: "2" }, state, stale: false, lastAppliedAt: null, pendingSteps: 0, agentVersion: "test" },
  }]);
}

describe("a maintenance window that is closed now (injected clock)", () => {
  it("sends nothing until the window opens in each site's own time zone, then only to the sites whose window is open", async () => {
    const ro = await t.op.createRollout({
      release: { name: "pos", version: "2" }, selector: "",
      // 02:00-03:00 local time, every night.
      strategy: { waves: ["100%"], windows: [{ cron: "0 2 * * *", durationMinutes: 60, timezone: "UTC" }], waveTimeoutSeconds: 86_400 },
    });
    await t.op.rolloutAction(ro.id, "start");
    const before = await bundleVersions();
    const noon = new Date("2030-01-15T12:00:00Z");
    for (const now of [noon, new Date("2030-01-15T23:59:00Z"), new Date("2030-01-16T01:59:59Z")]) {
      expect((await t.hub.rollouts.tick(now)).started).toBe(0);
      expect(await bundleVersions()).toEqual(before);
    }
    const view = await t.op.getRollout(ro.id);
    expect(view.waitingFor).toMatch(/maintenance window/);

    // 02:00 in Lisbon (UTC+0 in January): the Lisbon sites get their bundle, New York (21:00) does not.
    expect((await t.hub.rollouts.tick(new Date("2030-01-16T02:00:00Z"))).started).toBe(2);
    const mid = await bundleVersions();
    expect(mid).toEqual({ ...before, "lis-1": before["lis-1"]! + 1, "lis-2": before["lis-2"]! + 1 });
    // 02:00 in New York is 07:00Z.
    expect((await t.hub.rollouts.tick(new Date("2030-01-16T06:59:00Z"))).started).toBe(0);
    expect((await t.hub.rollouts.tick(new Date("2030-01-16T07:00:00Z"))).started).toBe(1);
    expect((await bundleVersions())["nyc-1"]).toBe(before["nyc-1"]! + 1);

    // The rollout finishes once they report the new version applied; an abort afterwards is refused.
    for (const s of ["lis-1", "lis-2", "nyc-1"]) await report(s, before[s]! + 1, "in-sync", new Date("2030-01-16T07:05:00Z"));
    await t.hub.rollouts.tick(new Date("2030-01-16T07:06:00Z"));
    const done = await t.op.getRollout(ro.id);
    expect(done.status).toBe("completed");
    expect(done.sites).toMatchObject({ total: 3, succeeded: 3 });
    const events = await t.op.rolloutEvents(ro.id);
    expect(events.filter((e) => e.type === "site-started").map((e) => [e.site, e.at])).toEqual([
      ["lis-1", "2030-01-16T02:00:00.000Z"], ["lis-2", "2030-01-16T02:00:00.000Z"], ["nyc-1", "2030-01-16T07:00:00.000Z"],
    ]);
    await expect(t.op.rolloutAction(ro.id, "abort")).rejects.toMatchObject({ status: 409, code: "ROLLOUT_FINISHED" });
  });
});

describe("decisions are carried out once", () => {
  it("the same decisions applied twice (a replayed tick) start nobody twice", async () => {
    const ro = await t.op.createRollout({ release: { name: "pos", version: "1" }, selector: "region=lis", strategy: { waves: ["100%"] } });
    await t.op.rolloutAction(ro.id, "start");
    const now = new Date("2030-02-01T10:00:00Z");
    const loaded = (await loadRollout(t.hub.db.db, ro.id))!;
    const { decisions } = evaluate(loaded.engine, loaded.sites, now);
    expect(decisions.map((d) => d.type)).toEqual(["begin-wave", "start-sites"]);
    expect(await applyDecisions(deps(), loaded, decisions, "test", now)).toMatchObject({ applied: true, started: 2 });
    const snap = await snapshotDb(t.hub.db);
    expect(await applyDecisions(deps(), loaded, decisions, "test", now)).toMatchObject({ applied: false, started: 0 });
    expect(await snapshotDb(t.hub.db)).toEqual(snap);
    await t.op.rolloutAction(ro.id, "abort");
  });
});

describe("the lease", () => {
  it("only the holder ticks; another replica takes over once the holder's lease has expired", async () => {
    const a = new RolloutScheduler(deps(), { tickSeconds: 1, holder: "replica-a", logger: quiet });
    const b = new RolloutScheduler(deps(), { tickSeconds: 1, holder: "replica-b", logger: quiet });
    const t0 = new Date("2031-01-01T00:00:00Z");
    const at = (s: number) => new Date(t0.getTime() + s * 1000);
    expect((await a.tick(at(0))).leader).toBe(true);
    expect((await b.tick(at(1))).leader).toBe(false);
    expect((await a.tick(at(2))).leader).toBe(true); // renewed
    expect((await b.tick(at(4.9))).leader).toBe(false); // a's lease runs 3 ticks from its last renewal (2 s + 3 s)
    expect((await b.tick(at(5))).leader).toBe(true);
    expect((await a.tick(at(6))).leader).toBe(false);
    await b.stop(); // a clean stop hands the lease back at once
    expect((await a.tick(at(6.5))).leader).toBe(true);
    await a.stop();
  });
});

describe("bad rollout input: 4xx naming the field, database unchanged", () => {
  const strategy = { waves: [1, "100%"] };
  const cases: { name: string; body: unknown; status: number; code: string; issue?: string }[] = [
    { name: "last wave not 100%", body: { release: { name: "pos", version: "2" }, selector: "", strategy: { waves: [1, "50%"] } }, status: 400, code: "VALIDATION", issue: "strategy.waves" },
    { name: "wave as a bad percentage", body: { release: { name: "pos", version: "2" }, selector: "", strategy: { waves: ["150%", "100%"] } }, status: 400, code: "VALIDATION", issue: "strategy.waves.0" },
    { name: "threshold over 100", body: { release: { name: "pos", version: "2" }, selector: "", strategy: { ...strategy, successThreshold: 120 } }, status: 400, code: "VALIDATION", issue: "strategy.successThreshold" },
    { name: "groupBy without a budget", body: { release: { name: "pos", version: "2" }, selector: "", strategy: { ...strategy, groupBy: "region" } }, status: 400, code: "VALIDATION", issue: "strategy.groupBy" },
    { name: "bad cron", body: { release: { name: "pos", version: "2" }, selector: "", strategy: { ...strategy, windows: [{ cron: "61 2 * * *", durationMinutes: 60 }] } }, status: 400, code: "VALIDATION", issue: "strategy.windows.0.cron" },
    { name: "unknown timezone", body: { release: { name: "pos", version: "2" }, selector: "", strategy: { ...strategy, windows: [{ cron: "0 2 * * *", durationMinutes: 60, timezone: "Mars/Olympus" }] } }, status: 400, code: "VALIDATION", issue: "strategy.windows.0.timezone" },
    { name: "unknown strategy field", body: { release: { name: "pos", version: "2" }, selector: "", strategy: { ...strategy, canary: true } }, status: 400, code: "VALIDATION", issue: "strategy.canary" },
    { name: "bad selector", body: { release: { name: "pos", version: "2" }, selector: "region in (eu", strategy }, status: 400, code: "SELECTOR", issue: "selector" },
    { name: "unknown release", body: { release: { name: "pos", version: "9" }, selector: "", strategy }, status: 404, code: "RELEASE_NOT_FOUND", issue: "release" },
  ];
  it.each(cases)("$name -> $status $code", async (c) => {
    const before = await snapshotDb(t.hub.db);
    const res = await raw(`${t.hub.url}/api/v1/rollouts`, t.hub.adminToken, { method: "POST", json: c.body });
    const body = (await res.json()) as { error: { code: string; message: string; issues?: { path: string }[] } };
    expect({ status: res.status, code: body.error.code }).toEqual({ status: c.status, code: c.code });
    if (c.issue) expect(body.error.issues?.map((i) => i.path)).toContain(c.issue);
    expect(await snapshotDb(t.hub.db)).toEqual(before);
  });
  it("actions: unknown rollout 404, a malformed id 400 naming it, options it does not take 400, a selector matching nothing 409", async () => {
    const before = await snapshotDb(t.hub.db);
    const post = (p: string, json: unknown = {}) => raw(`${t.hub.url}/api/v1/rollouts/${p}`, t.hub.adminToken, { method: "POST", json });
    expect((await post("01HZZZZZZZZZZZZZZZZZZZZZZZ/start")).status).toBe(404);
    const bad = await post("not-an-id/start");
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { issues: { path: string }[] } }).error.issues[0]!.path).toBe("id");
    expect(await snapshotDb(t.hub.db)).toEqual(before);
    const ro = await t.op.createRollout({ release: { name: "pos", version: "2" }, selector: "region=mars", strategy });
    const mid = await snapshotDb(t.hub.db);
    const opts = await post(`${ro.id}/start`, { force: true });
    expect(opts.status).toBe(400);
    await expect(t.op.rolloutAction(ro.id, "start")).rejects.toMatchObject({ status: 409, code: "NO_SITES" });
    await expect(t.op.rolloutAction(ro.id, "rollback")).rejects.toMatchObject({ status: 409, code: "ROLLOUT_NOT_STARTED" });
    expect(await snapshotDb(t.hub.db)).toEqual(mid);
  });
});
