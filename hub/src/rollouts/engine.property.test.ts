import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { WaveSize } from "@outpost/shared";
import { operatorAction } from "./actions.ts";
import { applyDecision, decide, inFlightByGroup, type EngineRollout, type EngineSite } from "./engine.ts";
import { planWaves } from "./plan.ts";
import { anyWindowOpen, nextOpening, windowOpen, type Window } from "./windows.ts";

/**
 * Whole rollouts simulated against the pure engine: random fleets (groups, time zones), random
 * strategies, sites that succeed, fail or go silent at random, a clock that jumps, and an operator
 * who approves and resumes. After every tick the invariants of DESIGN §5 must hold.
 */
const ZONES = [null, "Europe/Lisbon", "America/New_York", "Asia/Tokyo", "Australia/Adelaide"] as const;
const T0 = new Date("2030-03-28T20:00:00Z"); // a DST weekend in Europe is close: windows cross it

const waveList = fc.array(fc.oneof(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 99 }).map((p) => `${p}%`)), { maxLength: 4 })
  .map((w): WaveSize[] => [...(w as WaveSize[]), "100%"]);
const windowArb: fc.Arbitrary<Window> = fc.record({
  cron: fc.constantFrom("0 2 * * *", "30 */3 * * *", "0 22 * * 1-5", "*/20 * * * *", "0 0 1 * *"),
  durationMinutes: fc.integer({ min: 5, max: 240 }),
  timezone: fc.constantFrom("UTC", "Europe/Lisbon", "Asia/Tokyo"),
});
const scenario = fc.record({
  sites: fc.array(fc.record({ group: fc.constantFrom("eu", "us", "ap", "mx"), zone: fc.constantFrom(...ZONES) }), { minLength: 1, maxLength: 40 }),
  waves: waveList,
  successThreshold: fc.integer({ min: 1, max: 100 }),
  waveTimeoutSeconds: fc.integer({ min: 30, max: 900 }),
  pauseSeconds: fc.constantFrom(0, 0, 60, 600),
  maxUnavailable: fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }),
  windows: fc.oneof(fc.constant([] as Window[]), fc.array(windowArb, { minLength: 1, maxLength: 2 })),
  approval: fc.constantFrom("automatic" as const, "manual" as const),
  onFailure: fc.constantFrom("pause" as const, "rollback" as const),
  /** Per site: how it behaves once started. */
  behaviour: fc.array(fc.constantFrom("ok", "ok", "ok", "ok", "fail", "silent", "flaky"), { minLength: 40, maxLength: 40 }),
  seed: fc.integer(),
});

function lcg(seed: number) { let x = seed >>> 0 || 1; return () => ((x = (Math.imul(x, 1664525) + 1013904223) >>> 0) / 2 ** 32); }

describe("engine properties (simulated rollouts)", () => {
  it("never exceeds the disruption budget, never starts outside a window, never skips or repeats a wave or a site", () => {
    const outcomes: Record<string, number> = {};
    fc.assert(fc.property(scenario, (sc) => {
      const fleet = sc.sites.map((s, i) => ({ id: `s${i}`, name: `s${String(i).padStart(2, "0")}`, group: s.group, zone: s.zone }));
      const plan = planWaves(fleet.map((s) => ({ ...s, group: sc.maxUnavailable ? s.group : "" })), sc.waves);
      // Every site in exactly one planned wave, none empty.
      expect(plan.waves.flat().sort()).toEqual(fleet.map((s) => s.id).sort());
      expect(plan.waves.every((w) => w.length > 0)).toBe(true);

      const waveOf = new Map(plan.waves.flatMap((ids, w) => ids.map((id) => [id, w] as const)));
      const strategy = { successThreshold: sc.successThreshold, waveTimeoutSeconds: sc.waveTimeoutSeconds, pauseSeconds: sc.pauseSeconds, maxUnavailable: sc.maxUnavailable, windows: sc.windows, approval: sc.approval, onFailure: sc.onFailure };
      const r: EngineRollout = { status: "running", strategy, waveSizes: plan.waves.map((w) => w.length), currentWave: -1, waveState: "done", waveChangedAt: T0, approvedWave: 0, waivedWave: -1 };
      const order = plan.waves.flat();
      const sites = new Map<string, EngineSite>(order.map((id) => {
        const f = fleet.find((s) => s.id === id)!;
        return [id, { id, wave: waveOf.get(id)!, group: sc.maxUnavailable ? f.group : "", timezone: f.zone, state: "pending", bundleVersion: null, startedAt: null, appliedVersion: 1, health: "in-sync" }];
      }));
      const behaviour = new Map(order.map((id, i) => [id, sc.behaviour[i % sc.behaviour.length]!]));
      const rand = lcg(sc.seed);
      const everStarted = new Set<string>();
      const begun: number[] = [];
      let now = T0, version = 10;

      for (let step = 0; step < 400 && (r.status === "running" || r.status === "paused"); step++) {
        const before = new Map([...sites].map(([id, s]) => [id, { ...s }]));
        const ds = decide(r, [...sites.values()], now);
        for (const d of ds) {
          if (d.type === "begin-wave") {
            // No skip, no repeat: waves begin 0, 1, 2, ... each once, after the previous one ended.
            expect(d.wave).toBe(begun.length);
            expect(r.waveState).toBe("done");
            if (sc.approval === "manual") expect(r.approvedWave).toBeGreaterThanOrEqual(d.wave);
            // Never outside a window: some site of that wave has one open in its zone.
            if (sc.windows.length) expect([...sites.values()].some((s) => s.wave === d.wave && anyWindowOpen(sc.windows, now, s.timezone))).toBe(true);
            begun.push(d.wave);
          }
          if (d.type === "start-sites") {
            expect(r.waveState).toBe("active");
            expect(d.wave).toBe(r.currentWave);
            for (const id of d.sites) {
              const s = sites.get(id)!;
              expect(s.state).toBe("pending");
              expect(s.wave).toBe(d.wave);
              expect(everStarted.has(id)).toBe(false);
              expect(anyWindowOpen(sc.windows, now, s.timezone)).toBe(true);
              everStarted.add(id);
            }
          }
          if (d.type === "mark-sites") for (const id of d.sites) expect(["in-progress", "succeeded"]).toContain(sites.get(id)!.state);
          if (d.type === "complete-wave" || d.type === "fail-wave") expect(d.wave).toBe(r.currentWave);
          if (d.type === "finish") expect(r.currentWave).toBe(r.waveSizes.length - 1);
          applyDecision(r, sites, d, now);
          if (d.type === "start-sites") for (const id of d.sites) sites.get(id)!.bundleVersion = ++version;
        }
        // The budget holds after every tick, per group.
        if (sc.maxUnavailable !== undefined) {
          const wasByGroup = inFlightByGroup([...before.values()]);
          for (const [g, n] of inFlightByGroup([...sites.values()])) {
            const was = wasByGroup.get(g) ?? 0;
            expect(n).toBeLessThanOrEqual(Math.max(sc.maxUnavailable, was));
          }
        }

        // The world moves: started sites report (or not), the clock jumps, the operator acts.
        for (const s of sites.values()) {
          if (s.state !== "in-progress" && s.state !== "succeeded") continue;
          const b = behaviour.get(s.id)!;
          if (b === "ok" && rand() < 0.6) { s.appliedVersion = s.bundleVersion; s.health = "in-sync"; }
          if (b === "fail" && rand() < 0.6) { s.appliedVersion = s.bundleVersion; s.health = "failed"; }
          if (b === "flaky") { s.appliedVersion = s.bundleVersion; s.health = rand() < 0.5 ? "in-sync" : "degraded"; }
        }
        now = new Date(now.getTime() + Math.floor(rand() * 40 * 60_000));
        if (sc.approval === "manual" && r.waveState === "done" && rand() < 0.5) {
          const res = operatorAction({ ...r, pauseReason: null, waveCount: r.waveSizes.length, approval: "manual" }, "approve", now);
          if (res.ok) r.approvedWave = res.next.approvedWave;
        }
        if (r.status === "paused" && rand() < 0.3) {
          const res = operatorAction({ ...r, pauseReason: "wave-failed", waveCount: r.waveSizes.length, approval: sc.approval }, "resume", now);
          if (res.ok) { r.status = res.next.status; r.waivedWave = res.next.waivedWave; }
        }
      }
      // Waves began in order and a completed rollout went through every one of them.
      expect(begun).toEqual(begun.map((_, i) => i));
      outcomes[r.status] = (outcomes[r.status] ?? 0) + 1;
      if (r.status === "completed") {
        expect(begun).toEqual(r.waveSizes.map((_, i) => i));
        expect([...sites.values()].every((s) => s.state !== "pending" && s.state !== "in-progress")).toBe(true);
      }
    }), { numRuns: 200 });
    // The simulation must reach every ending, or it proves little.
    expect(Object.keys(outcomes).sort()).toEqual(["completed", "paused", "rolled-back", "running"].filter((k) => outcomes[k]).sort());
    expect(outcomes.completed ?? 0).toBeGreaterThan(20);
    expect((outcomes.paused ?? 0) + (outcomes["rolled-back"] ?? 0)).toBeGreaterThan(5);
  });

  it("a fleet whose sites all apply completes, every wave in order, without operator help (automatic, no windows)", () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 60 }), waveList, fc.option(fc.integer({ min: 1, max: 5 }), { nil: undefined }), (n, waves, maxUnavailable) => {
      const ids = Array.from({ length: n }, (_, i) => ({ id: `s${i}`, name: `s${i}`, group: `g${i % 3}` }));
      const plan = planWaves(ids, waves);
      const r: EngineRollout = {
        status: "running", waveSizes: plan.waves.map((w) => w.length), currentWave: -1, waveState: "done", waveChangedAt: T0, approvedWave: 0, waivedWave: -1,
        strategy: { successThreshold: 100, waveTimeoutSeconds: 600, pauseSeconds: 0, maxUnavailable, windows: [], approval: "automatic", onFailure: "pause" },
      };
      const sites = new Map<string, EngineSite>(plan.waves.flatMap((w, wave) => w.map((id) => [id, {
        id, wave, group: ids.find((s) => s.id === id)!.group, timezone: null, state: "pending", bundleVersion: null, startedAt: null, appliedVersion: null, health: null,
      } as EngineSite])));
      let now = T0;
      // Each tick, every site started in an earlier tick has applied: at most 2 ticks per budget slot round.
      const bound = 2 * n + 2 * plan.waves.length + 4;
      let ticks = 0;
      for (; ticks < bound && r.status === "running"; ticks++) {
        for (const s of sites.values()) if (s.state === "in-progress") { s.appliedVersion = s.bundleVersion; s.health = "in-sync"; }
        for (const d of decide(r, [...sites.values()], now)) {
          applyDecision(r, sites, d, now);
          if (d.type === "start-sites") for (const id of d.sites) sites.get(id)!.bundleVersion = 2;
        }
        now = new Date(now.getTime() + 1000);
      }
      expect(r.status).toBe("completed");
      expect([...sites.values()].every((s) => s.state === "succeeded")).toBe(true);
    }), { numRuns: 200 });
  });
});

describe("window properties", () => {
  const instant = fc.date({ min: new Date("2029-01-01T00:00:00Z"), max: new Date("2032-12-31T00:00:00Z"), noInvalidDate: true });
  const zone = fc.constantFrom(null, "Europe/Lisbon", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe");
  it("open exactly when the last opening is less than the duration ago; the next opening is after now and open", () => {
    fc.assert(fc.property(windowArb, instant, zone, (w, now, tz) => {
      const open = windowOpen(w, now, tz);
      const next = nextOpening([w], now, tz);
      expect(next).not.toBeNull();
      expect(next!.getTime()).toBeGreaterThan(now.getTime());
      expect(windowOpen(w, next!, tz)).toBe(true);
      // Just before the next opening, it is open only if an earlier opening still covers it.
      const opening = nextOpening([w], new Date(now.getTime() - w.durationMinutes * 60_000), tz);
      expect(open).toBe(opening !== null && opening.getTime() <= now.getTime());
    }), { numRuns: 300 });
  });
});
