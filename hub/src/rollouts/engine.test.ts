import { describe, expect, it } from "vitest";
import { operatorAction, type ActionRollout } from "./actions.ts";
import { decide, evaluate, type Decision, type EngineRollout, type EngineSite } from "./engine.ts";
import { planWaves } from "./plan.ts";
import { estimateEta, waveViews } from "./progress.ts";

const T0 = new Date("2030-06-03T10:00:00Z"); // a Monday
const at = (s: number) => new Date(T0.getTime() + s * 1000);

function rollout(over: Omit<Partial<EngineRollout>, "strategy"> & { strategy?: Partial<EngineRollout["strategy"]> } = {}): EngineRollout {
  const { strategy, ...rest } = over;
  return {
    status: "running", waveSizes: [1, 2], currentWave: -1, waveState: "done", waveChangedAt: T0, approvedWave: 0, waivedWave: -1,
    ...rest,
    strategy: { successThreshold: 90, waveTimeoutSeconds: 60, pauseSeconds: 0, maxUnavailable: undefined, windows: [], approval: "automatic", onFailure: "pause", ...strategy },
  };
}
function site(id: string, wave: number, over: Partial<EngineSite> = {}): EngineSite {
  return { id, wave, group: "", timezone: null, state: "pending", bundleVersion: null, startedAt: null, appliedVersion: null, health: null, ...over };
}
const running = (id: string, wave: number, over: Partial<EngineSite> = {}) =>
  site(id, wave, { state: "in-progress", bundleVersion: 5, startedAt: T0, appliedVersion: 4, health: "in-sync", ...over });
const types = (ds: Decision[]) => ds.map((d) => d.type);

describe("decide: observing sites", () => {
  const r = rollout({ currentWave: 0, waveState: "active", waveSizes: [3] });
  it("applied and in sync at the rollout's version (or later) is success; failed or degraded is failure", () => {
    const ds = decide(r, [
      running("a", 0, { appliedVersion: 5, health: "in-sync" }),
      running("b", 0, { appliedVersion: 6, health: "in-sync" }),
      running("c", 0, { appliedVersion: 5, health: "failed" }),
    ], at(10));
    expect(ds.filter((d) => d.type === "mark-sites")).toEqual([
      { type: "mark-sites", wave: 0, outcome: "succeeded", sites: ["a", "b"] },
      { type: "mark-sites", wave: 0, outcome: "failed", sites: ["c"] },
    ]);
  });
  it("the old version in sync, or the new one still applying, is neither: it times out only once the timeout has passed", () => {
    const sites = [running("a", 0), running("b", 0, { appliedVersion: 5, health: "applying" }), running("c", 0, { appliedVersion: 5, health: "pending" })];
    expect(decide(r, sites, at(59))).toEqual([]);
    expect(decide(r, sites, at(60))[0]).toEqual({ type: "mark-sites", wave: 0, outcome: "timed-out", sites: ["a", "b", "c"] });
  });
  it("a site of the current wave that succeeded and then turns unhealthy has failed after all", () => {
    const ds = decide(r, [site("a", 0, { state: "succeeded", bundleVersion: 5, startedAt: T0, appliedVersion: 5, health: "degraded" }), running("b", 0)], at(5));
    expect(ds).toContainEqual({ type: "mark-sites", wave: 0, outcome: "failed", sites: ["a"] });
  });
  it("an earlier wave's success is not revisited", () => {
    const ds = decide(rollout({ currentWave: 1, waveState: "active", waveSizes: [1, 1] }),
      [site("a", 0, { state: "succeeded", bundleVersion: 5, appliedVersion: 5, health: "failed" }), running("b", 1)], at(5));
    expect(ds).toEqual([]);
  });
});

describe("decide: waves", () => {
  it("starts the canary, then after it succeeds begins and starts the next wave in the same tick", () => {
    const sites = [site("a", 0), site("b", 1), site("c", 1)];
    expect(decide(rollout(), sites, at(0))).toEqual([{ type: "begin-wave", wave: 0 }, { type: "start-sites", wave: 0, sites: ["a"] }]);
    const r = rollout({ currentWave: 0, waveState: "active" });
    const ds = decide(r, [running("a", 0, { appliedVersion: 5 }), site("b", 1), site("c", 1)], at(3));
    expect(types(ds)).toEqual(["mark-sites", "complete-wave", "begin-wave", "start-sites"]);
    expect(ds.at(-1)).toEqual({ type: "start-sites", wave: 1, sites: ["b", "c"] });
  });
  it("finishes after the last wave", () => {
    const r = rollout({ currentWave: 1, waveState: "active" });
    const ds = decide(r, [site("a", 0, { state: "succeeded" }), running("b", 1, { appliedVersion: 5 }), site("c", 1, { state: "succeeded" })], at(3));
    expect(types(ds)).toEqual(["mark-sites", "complete-wave", "finish"]);
  });
  it("fails the wave as soon as the threshold cannot be met, with the strategy's failure action", () => {
    const sites = [site("a", 0, { state: "succeeded" }), running("b", 0, { appliedVersion: 5, health: "failed" }), running("c", 0), site("d", 0)];
    const r = rollout({ currentWave: 0, waveState: "active", waveSizes: [4], strategy: { successThreshold: 80 } });
    expect(decide(r, sites, at(1)).at(-1)).toEqual({ type: "fail-wave", wave: 0, action: "pause", succeeded: 1, failed: 1, timedOut: 0, size: 4 });
    const rb = rollout({ currentWave: 0, waveState: "active", waveSizes: [4], strategy: { successThreshold: 80, onFailure: "rollback" } });
    expect(decide(rb, sites, at(1)).at(-1)).toMatchObject({ type: "fail-wave", action: "rollback" });
    // 3 of 4 can still succeed at 75%: not yet a failure.
    const r2 = rollout({ currentWave: 0, waveState: "active", waveSizes: [4], strategy: { successThreshold: 75 } });
    expect(types(decide(r2, [site("a", 0), running("b", 0, { appliedVersion: 5, health: "failed" }), running("c", 0), site("d", 0)], at(1)))).not.toContain("fail-wave");
  });
  it("a waived wave (resumed after failing) ends when its sites are done, whatever the threshold", () => {
    const r = rollout({ currentWave: 0, waveState: "active", waveSizes: [2, 1], waivedWave: 0 });
    const ds = decide(r, [site("a", 0, { state: "failed" }), running("b", 0, { appliedVersion: 5 }), site("c", 1)], at(1));
    expect(ds).toContainEqual({ type: "complete-wave", wave: 0, succeeded: 1, size: 2, waived: true });
    expect(ds.at(-1)).toEqual({ type: "start-sites", wave: 1, sites: ["c"] });
  });
  it("waits for approval between waves in manual mode, and only for the pause in automatic mode", () => {
    const sites = [site("a", 0, { state: "succeeded" }), site("b", 1)];
    const manual = rollout({ currentWave: 0, waveState: "done", waveChangedAt: T0, strategy: { approval: "manual" } });
    expect(evaluate(manual, sites, at(1000))).toEqual({ decisions: [], waiting: { reason: "approval", wave: 1 } });
    expect(types(decide({ ...manual, approvedWave: 1 }, sites, at(1)))).toEqual(["begin-wave", "start-sites"]);
    const paused = rollout({ currentWave: 0, waveState: "done", waveChangedAt: T0, strategy: { pauseSeconds: 30 } });
    expect(evaluate(paused, sites, at(29)).waiting).toEqual({ reason: "pause-between-waves", wave: 1, until: at(30) });
    expect(types(decide(paused, sites, at(30)))).toEqual(["begin-wave", "start-sites"]);
  });
  it("while paused it only records what sites report", () => {
    const r = rollout({ status: "paused", currentWave: 0, waveState: "active", waveSizes: [2] });
    expect(decide(r, [running("a", 0, { appliedVersion: 5 }), site("b", 0)], at(1))).toEqual([{ type: "mark-sites", wave: 0, outcome: "succeeded", sites: ["a"] }]);
  });
  it("does nothing for a rollout that is not running or paused", () => {
    for (const status of ["created", "completed", "aborted", "rolled-back"] as const) {
      expect(decide(rollout({ status }), [site("a", 0)], at(1))).toEqual([]);
    }
  });
});

describe("decide: disruption budget", () => {
  it("starts at most maxUnavailable per group, counting sites already in flight, and the rest as slots free up", () => {
    const r = rollout({ currentWave: 0, waveState: "active", waveSizes: [7], strategy: { maxUnavailable: 2 } });
    const sites = [
      running("eu-1", 0, { group: "eu" }), site("eu-2", 0, { group: "eu" }), site("eu-3", 0, { group: "eu" }),
      site("us-1", 0, { group: "us" }), site("us-2", 0, { group: "us" }), site("us-3", 0, { group: "us" }), site("ap-1", 0, { group: "ap" }),
    ];
    expect(decide(r, sites, at(1))).toEqual([{ type: "start-sites", wave: 0, sites: ["eu-2", "us-1", "us-2", "ap-1"] }]);
    sites[0] = running("eu-1", 0, { group: "eu", appliedVersion: 5 });
    sites[1] = running("eu-2", 0, { group: "eu" });
    expect(decide(r, sites, at(2)).at(-1)).toEqual({ type: "start-sites", wave: 0, sites: ["eu-3", "us-1", "us-2", "ap-1"] });
  });
  it("timed-out and failed sites free their slot", () => {
    const r = rollout({ currentWave: 0, waveState: "active", waveSizes: [3], strategy: { maxUnavailable: 1, successThreshold: 1 } });
    const ds = decide(r, [running("a", 0), site("b", 0), site("c", 0)], at(60));
    expect(ds).toEqual([{ type: "mark-sites", wave: 0, outcome: "timed-out", sites: ["a"] }, { type: "start-sites", wave: 0, sites: ["b"] }]);
  });
});

describe("decide: maintenance windows", () => {
  // 02:00-03:00 each night, in the site's zone.
  const windows = [{ cron: "0 2 * * *", durationMinutes: 60, timezone: "UTC" }];
  const r = rollout({ waveSizes: [3], strategy: { windows } });
  const sites = [site("lis", 0, { timezone: "Europe/Lisbon" }), site("nyc", 0, { timezone: "America/New_York" }), site("utc", 0)];
  it("begins no wave and starts no site while every window is closed, and says when the next opens", () => {
    const ev = evaluate(r, sites, new Date("2030-06-03T12:00:00Z"));
    expect(ev.decisions).toEqual([]);
    expect(ev.waiting).toEqual({ reason: "window", wave: 0, until: new Date("2030-06-04T01:00:00Z") }); // 02:00 in Lisbon (UTC+1 in June)
  });
  it("starts only the sites whose own zone is inside a window", () => {
    // 01:30Z = 02:30 Lisbon (open), 21:30 New York (closed), 01:30 UTC (closed).
    expect(decide(r, sites, new Date("2030-06-04T01:30:00Z"))).toEqual([{ type: "begin-wave", wave: 0 }, { type: "start-sites", wave: 0, sites: ["lis"] }]);
    expect(decide({ ...r, currentWave: 0, waveState: "active" }, sites, new Date("2030-06-04T06:15:00Z"))).toEqual([{ type: "start-sites", wave: 0, sites: ["nyc"] }]);
  });
  it("a timezone label that names no zone never opens", () => {
    expect(decide({ ...r, currentWave: 0, waveState: "active" }, [site("x", 0, { timezone: "" })], new Date("2030-06-04T02:30:00Z"))).toEqual([]);
  });
});

describe("planWaves", () => {
  const fleet = (n: number, groups: string[]) => Array.from({ length: n }, (_, i) => ({ id: `s${i}`, name: `s${String(i).padStart(3, "0")}`, group: groups[i % groups.length]! }));
  it("cumulative targets: [1, 10%, 50%, 100%] of 50 is 1, 4, 20, 25", () => {
    const p = planWaves(fleet(50, ["eu", "us", "ap"]), [1, "10%", "50%", "100%"]);
    expect(p.waves.map((w) => w.length)).toEqual([1, 4, 20, 25]);
    expect(new Set(p.waves.flat()).size).toBe(50);
  });
  it("drops waves that would add no site, keeping which entry each came from", () => {
    const p = planWaves(fleet(5, ["eu"]), [1, "10%", "50%", "100%"]);
    expect(p.waves.map((w) => w.length)).toEqual([1, 2, 2]);
    expect(p.targets).toEqual([1, "50%", "100%"]);
  });
  it("interleaves groups so each wave samples every group", () => {
    const p = planWaves(fleet(12, ["eu", "us", "ap"]), ["25%", "50%", "75%", "100%"]);
    const group = (id: string) => fleet(12, ["eu", "us", "ap"]).find((s) => s.id === id)!.group;
    expect(p.waves).toHaveLength(4);
    for (const w of p.waves) expect(w.map(group).sort()).toEqual(["ap", "eu", "us"]);
  });
});

describe("operator actions", () => {
  const base: ActionRollout = { status: "created", pauseReason: null, currentWave: -1, waveState: "done", waveChangedAt: null, approvedWave: -1, waivedWave: -1, waveCount: 3, approval: "manual" };
  it("start approves the canary; approve takes the next wave once; resume after a failed wave waives it", () => {
    const started = operatorAction(base, "start", T0);
    expect(started).toMatchObject({ ok: true, next: { status: "running", approvedWave: 0, currentWave: -1 } });
    const r = { ...base, status: "running" as const, currentWave: 0, approvedWave: 0 };
    expect(operatorAction(r, "approve", T0)).toMatchObject({ ok: true, next: { approvedWave: 1 } });
    expect(operatorAction({ ...r, approvedWave: 1 }, "approve", T0)).toMatchObject({ ok: false, code: "ALREADY_APPROVED" });
    expect(operatorAction({ ...r, currentWave: 2 }, "approve", T0)).toMatchObject({ ok: false, code: "NO_NEXT_WAVE" });
    expect(operatorAction({ ...r, approval: "automatic" }, "approve", T0)).toMatchObject({ ok: false, code: "APPROVAL_NOT_REQUIRED" });
    expect(operatorAction({ ...r, status: "paused", pauseReason: "wave-failed" }, "resume", T0)).toMatchObject({ ok: true, next: { status: "running", waivedWave: 0 } });
    expect(operatorAction({ ...r, status: "paused", pauseReason: "operator" }, "resume", T0)).toMatchObject({ ok: true, next: { waivedWave: -1 } });
  });
  it("refuses what makes no sense in the current state", () => {
    expect(operatorAction(base, "rollback", T0)).toMatchObject({ ok: false, code: "ROLLOUT_NOT_STARTED" });
    expect(operatorAction(base, "pause", T0)).toMatchObject({ ok: false, code: "ROLLOUT_NOT_RUNNING" });
    expect(operatorAction({ ...base, status: "completed" }, "abort", T0)).toMatchObject({ ok: false, code: "ROLLOUT_FINISHED" });
    expect(operatorAction({ ...base, status: "completed" }, "rollback", T0)).toMatchObject({ ok: true, next: { status: "rolled-back" } });
    expect(operatorAction({ ...base, status: "rolled-back" }, "rollback", T0)).toMatchObject({ ok: false, code: "ALREADY_ROLLED_BACK" });
    expect(operatorAction({ ...base, status: "running" }, "start", T0)).toMatchObject({ ok: false, code: "ROLLOUT_ALREADY_STARTED" });
  });
});

describe("progress", () => {
  it("per-wave counts and states, and an ETA from the pace so far", () => {
    const r = rollout({ currentWave: 1, waveState: "active", waveSizes: [1, 3], strategy: { successThreshold: 50 } });
    const sites = [
      { wave: 0, state: "succeeded" as const, startedAt: at(0), finishedAt: at(10) },
      { wave: 1, state: "succeeded" as const, startedAt: at(10), finishedAt: at(20) },
      { wave: 1, state: "in-progress" as const, startedAt: at(10), finishedAt: null },
      { wave: 1, state: "pending" as const, startedAt: null, finishedAt: null },
    ];
    const w = waveViews({ ...r, targets: [1, "100%"] }, sites);
    expect(w.map((x) => [x.state, x.succeeded, x.inProgress, x.pending])).toEqual([["succeeded", 1, 0, 0], ["in-progress", 1, 1, 1]]);
    // 2 sites done in 20 s: the 2 left take about 20 s more.
    expect(estimateEta(r, T0, sites, at(20))).toEqual(at(40));
    expect(estimateEta({ ...r, status: "paused" }, T0, sites, at(20))).toBeNull();
  });
});
