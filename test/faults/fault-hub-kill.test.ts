import { randomInt } from "node:crypto";
import { join } from "node:path";
import { createClient } from "@libsql/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RolloutView } from "@outpost/shared";
import { Fleet } from "../lib/fleet.ts";
import { sleep, waitFor } from "../lib/processes.ts";
import { storeRelease } from "../lib/releases.ts";
import { peakInFlight, startsPerSite, storeFleetOn10, waitForRollout } from "../lib/rollouts.ts";
import { SimFleet } from "../lib/sim-fleet.ts";
import { serverErrors } from "./lib/ledger.ts";
import { recordCase } from "./report.ts";

/**
 * The hub process is SIGKILLed ten times at random moments while rollouts run (mid-tick, mid-wave,
 * between waves: wherever the dice fall), each time restarted on the same database. Afterwards each
 * rollout's event log is replayed against the sites: every wave began once and in order, every site
 * was started exactly once and succeeded once, the disruption budget held across the kills, each site
 * got exactly one new bundle per rollout, and the database passes PRAGMA integrity_check after every kill.
 */
describe("hub SIGKILLed 10 times during rollouts", () => {
  const hub = new Fleet();
  // Slow applies (as real LXD and Ceph calls are), so waves take long enough for kills to land inside.
  const sims = new SimFleet(() => hub.url, { agent: { sim: { stepDelayMs: 120, fail: [] } } });
  const names = Array.from({ length: 12 }, (_, i) => `shop-${String(i + 1).padStart(2, "0")}`);
  const KILLS = 10;
  const MAX_UNAVAILABLE = 2;
  const strategy = { waves: [1, 3, "50%", "100%"] as (number | `${number}%`)[], maxUnavailable: MAX_UNAVAILABLE, waveTimeoutSeconds: 300 };

  beforeAll(async () => {
    await storeFleetOn10(hub, sims, names);
    for (const v of ["1.2", "1.3", "1.4"]) await hub.op.createRelease(storeRelease(v, { instances: 2 + Number(v.split(".")[1]) % 2 }));
  });
  afterAll(async () => { await sims.close(); await hub.close(); });

  const integrity = async () => {
    const db = createClient({ url: `file:${join(hub.hubDataDir, "hub.db")}` });
    try { return String((await db.execute("PRAGMA integrity_check")).rows[0]?.[0]); } finally { db.close(); }
  };

  // A fixed number of kills, each a restart: the time it takes grows with the machine's load.
  it("no rollout step lost or repeated, and the database intact after every kill", { timeout: 300_000 }, async () => {
    const versions = ["1.1", "1.2", "1.3", "1.4"];
    const rollouts: { id: string; version: string }[] = [];
    const startNext = async () => {
      const version = versions[rollouts.length];
      if (!version) throw new Error(`${KILLS} kills did not fit into ${versions.length} rollouts; make them longer`);
      const ro = await hub.op.createRollout({ release: { name: "store", version }, selector: "", strategy });
      await hub.op.rolloutAction(ro.id, "start");
      rollouts.push({ id: ro.id, version });
    };
    await startNext();

    let kills = 0, integrityFailures = 0, hubOutput = "";
    const killedAt: string[] = [];
    while (kills < KILLS) {
      await sleep(randomInt(200, 2500));
      const current = rollouts.at(-1)!;
      const view = await hub.op.getRollout(current.id);
      if (view.status !== "running") { await startNext(); continue; }
      await hub.stopHub("SIGKILL");
      hubOutput += hub.hub.text();
      kills++;
      killedAt.push(`${current.version} wave ${view.currentWave + 1}/${strategy.waves.length}, ${view.sites.succeeded}/${view.sites.total} done`);
      const check = await integrity();
      if (check !== "ok") integrityFailures++;
      expect(check, `hub DB after kill ${kills}`).toBe("ok");
      await hub.startHub();
    }

    // Let the last one finish; every rollout must have completed by itself.
    const done: RolloutView[] = [];
    for (const r of rollouts) done.push(await waitForRollout(() => hub.op, r.id, `rollout to ${r.version} to complete`, (v) => v.status !== "running", 120_000));
    hubOutput += hub.hub.text();

    let sitesStarted = 0, startedTwice = 0, wavesWrong = 0;
    for (const [i, r] of rollouts.entries()) {
      expect(done[i]!.status, r.version).toBe("completed");
      expect(done[i]!.sites).toMatchObject({ total: names.length, succeeded: names.length });
      const events = await hub.op.rolloutEvents(r.id, { limit: 10_000 });
      expect(events.filter((e) => e.type === "wave-started").map((e) => e.wave), r.version).toEqual(strategy.waves.map((_, w) => w));
      const starts = startsPerSite(events);
      startedTwice += Object.values(starts).filter((n) => n > 1).length;
      const began = events.filter((e) => e.type === "wave-started").map((e) => e.wave);
      wavesWrong += strategy.waves.filter((_, w) => began.filter((x) => x === w).length !== 1).length;
      expect(Object.keys(starts).sort(), r.version).toEqual(names);
      expect(Object.values(starts).every((n) => n === 1), `${r.version}: every site started once ${JSON.stringify(starts)}`).toBe(true);
      const succeeded = events.filter((e) => e.type === "site-succeeded").map((e) => e.site);
      expect(succeeded.sort(), r.version).toEqual(names);
      expect(events.filter((e) => ["site-failed", "site-timed-out", "wave-failed"].includes(e.type)), r.version).toEqual([]);
      // Each site's wave: the one it was started in; no site started in a wave before that wave began.
      const waveBegan = new Map(events.filter((e) => e.type === "wave-started").map((e) => [e.wave, e.id] as const));
      for (const e of events.filter((x) => x.type === "site-started")) expect(e.id).toBeGreaterThan(waveBegan.get(e.wave)!);
      expect(Math.max(...Object.values(peakInFlight(events))), `${r.version}: disruption budget`).toBeLessThanOrEqual(MAX_UNAVAILABLE);
      sitesStarted += Object.keys(starts).length;
    }
    // One bundle per site per rollout: v1 was 1.0, then one for each rollout, none issued twice.
    await hub.waitApplied(names, () => 1 + rollouts.length, 60_000);
    for (const s of await hub.op.listSites()) {
      expect([s.name, s.bundleVersion, s.release]).toEqual([s.name, 1 + rollouts.length, `store@${rollouts.at(-1)!.version}`]);
      const received = (await hub.events(s.name, "bundle-received")).map((e) => Number(e.body.bundleVersion)).sort((a, b) => a - b);
      expect(received).toEqual(Array.from({ length: 1 + rollouts.length }, (_, i) => i + 1));
    }
    await waitFor("the hub answers after the last restart", async () => (await hub.op.listSites()).length === names.length);
    expect(await integrity()).toBe("ok");
    const errors5xx = serverErrors(hubOutput);
    expect(errors5xx).toBe(0);

    recordCase({
      id: "hub-sigkill-rollout",
      section: "Faults",
      title: `Hub SIGKILLed ${KILLS} times at random moments of rollouts`,
      done: `${names.length} sim sites, rollouts store 1.0 -> ${rollouts.map((r) => r.version).join(" -> ")} in waves ${JSON.stringify(strategy.waves)} with at most ${MAX_UNAVAILABLE} sites in flight; the hub process was SIGKILLed after a random 0.2-2.5 s of life, ${KILLS} times while a rollout was running (${killedAt.join("; ")}), and restarted on the same database each time.`,
      checked: "After every kill: PRAGMA integrity_check = ok on the hub's libSQL file. At the end, from each rollout's event log: completed; every wave began exactly once, in order; every site started exactly once, after its wave began, and succeeded once; nothing failed or timed out; the disruption budget held across the kills; each site holds exactly one bundle per rollout (versions 1..N, each received once); no 5xx.",
      figures: {
        "hub kills (SIGKILL)": kills, rollouts: rollouts.length, sites: names.length, "site starts (expected = sites x rollouts)": sitesStarted,
        "sites started twice": startedTwice, "waves skipped or repeated": wavesWrong, "integrity_check failures": integrityFailures, "5xx seen": errors5xx,
      },
      totals: { killsSurvived: kills, serverErrors: errors5xx, dataLost: 0 },
    });
  });
});
