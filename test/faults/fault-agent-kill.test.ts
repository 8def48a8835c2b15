import { randomInt } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listSimObjects, readAgentStatus } from "@outpost/agent";
import { ReportItem } from "@outpost/shared";
import { Fleet } from "../lib/fleet.ts";
import { sleep, waitFor } from "../lib/processes.ts";
import { storeRelease } from "../lib/releases.ts";
import { integrityCheck, withStateFile } from "../lib/state-file.ts";
import { fleetLedgerSettled, producedEvents, serverErrors, storedEvents } from "./lib/ledger.ts";
import { recordCase } from "./report.ts";

/**
 * Power cuts mid-apply, twenty times: two real agent processes (sim driver, each step slowed down as
 * real LXD calls are) are SIGKILLed at a random step of applying a new bundle, and at a random moment
 * inside that step, ten times each. After every kill the state file must pass PRAGMA integrity_check
 * and its outbox must be intact (every event the journal says was produced is still queued or already
 * at the hub); after every restart the site must converge on the bundle by itself.
 */
describe("agent SIGKILLed 20 times mid-apply", () => {
  const fleet = new Fleet();
  const sites = ["till-1", "till-2"];
  const STEP_MS = 150;
  const env = { OUTPOST_SIM_STEP_DELAY_MS: String(STEP_MS), OUTPOST_BACKOFF_CAP_MS: "1000", OUTPOST_LONG_POLL_SECONDS: "2", OUTPOST_HUB_TIMEOUT_SECONDS: "5" };
  const CYCLES = 10;
  let token = "";

  beforeAll(async () => {
    await fleet.startHub();
    ({ token } = await fleet.op.createToken({ autoApprove: true, uses: sites.length }));
    for (const s of sites) await fleet.startAgent(s, { token, env });
    await waitFor("sites enrolled", async () => (await fleet.op.listSites()).length === sites.length);
  });
  afterAll(() => fleet.close());

  const state = (site: string) => withStateFile(fleet.stateDir(site), async (db) => {
    const started = Number((await db.execute("SELECT COUNT(*) FROM journal WHERE type = 'step-started'")).rows[0]![0]);
    const row = (await db.execute("SELECT value FROM kv WHERE key = 'reconcile'")).rows[0];
    return { started, appliedVersion: row ? (JSON.parse(String(row.value)) as { appliedVersion: number | null }).appliedVersion : null };
  });

  /** Every event the journal has is queued (and well-formed) or stored at the hub: none lost by the kill. */
  async function outboxIntact(site: string): Promise<{ queued: number; atHub: number; lost: string[] }> {
    const dir = fleet.stateDir(site);
    const queued = await withStateFile(dir, async (db) => (await db.execute("SELECT id, kind, at, body FROM outbox")).rows
      .map((r) => ReportItem.parse({ id: String(r.id), kind: String(r.kind), at: String(r.at), body: JSON.parse(String(r.body)) })));
    const inOutbox = new Set(queued.map((q) => q.id));
    const atHub = new Set((await storedEvents(fleet.hubDataDir)).get(site) ?? []);
    const produced = await producedEvents(dir);
    return { queued: queued.length, atHub: produced.filter((id) => atHub.has(id)).length, lost: produced.filter((id) => !inOutbox.has(id) && !atHub.has(id)) };
  }

  // A fixed number of kills, each a restart: the time it takes grows with the machine's load.
  it("converges every time; state file intact and no event lost after each kill", { timeout: 300_000 }, async () => {
    const kills: { site: string; cycle: number; atStep: number; midApply: boolean }[] = [];
    let hubVersion = 0, integrityFailures = 0, converged = 0;
    for (let cycle = 0; cycle < CYCLES; cycle++) {
      // A new release each cycle: every instance is rebuilt on a new image, and the count changes.
      const instances = 4 + (cycle % 4);
      await fleet.op.createRelease(storeRelease(`2.${cycle}`, { instances }));
      const before = await Promise.all(sites.map(state));
      await fleet.op.assign({ name: "store", version: `2.${cycle}` }, "");
      const version = ++hubVersion;

      await Promise.all(sites.map(async (site, i) => {
        // A random step of this apply (each takes STEP_MS), then a random moment inside it.
        const atStep = randomInt(1, 4);
        await waitFor(`${site}: step ${atStep} of v${version} started`, async () => (await state(site)).started >= before[i]!.started + atStep, 30_000, 10);
        await sleep(randomInt(0, STEP_MS));
        await fleet.agents.get(site)!.kill("SIGKILL");
        const after = await state(site);
        kills.push({ site, cycle, atStep, midApply: after.appliedVersion !== version });

        const check = await integrityCheck(fleet.stateDir(site));
        if (check !== "ok") integrityFailures++;
        expect(check, `${site} after kill ${cycle + 1}`).toBe("ok");
        const ob = await outboxIntact(site);
        expect(ob.lost, `${site}: events lost by kill ${cycle + 1}`).toEqual([]);

        await fleet.startAgent(site, { token, env });
        const dir = fleet.stateDir(site);
        await waitFor(`${site}: v${version} applied after the restart`, async () => {
          const st = await readAgentStatus(dir);
          return st.bundleVersion === version && st.appliedVersion === version && st.state === "in-sync" && st.pendingSteps === 0;
        }, 60_000);
        const world = await listSimObjects(dir, "lxd.instance");
        expect(world.map((o) => `${o.name}:${o.fields.state}:${(o.fields.config as Record<string, string>)["user.release"]}`).sort())
          .toEqual(Array.from({ length: instances }, (_, k) => `pos-${k + 1}:running:2.${cycle}`).sort());
        converged++;
      }));
      await fleet.waitApplied(sites, () => version, 60_000);
    }

    // Nothing lost, nothing twice, in order, over all twenty kills.
    const { total, bad } = await fleetLedgerSettled(fleet.hubDataDir, Object.fromEntries(sites.map((s) => [s, fleet.stateDir(s)])));
    expect(bad).toEqual({});
    expect(total.stored).toBe(total.produced);
    const midApply = kills.filter((k) => k.midApply).length;
    expect(midApply, JSON.stringify(kills)).toBe(kills.length);
    const errors5xx = serverErrors(fleet.hub.text());
    expect(errors5xx).toBe(0);

    recordCase({
      id: "agent-sigkill-apply",
      section: "Faults",
      title: `Agent SIGKILLed ${kills.length} times mid-apply`,
      done: `Two real agent processes (sim driver, ${STEP_MS} ms per step as real LXD calls take) applied ${CYCLES} new releases each (4-7 instances rebuilt on a new image every time); during each apply the process was SIGKILLed at a random step (1-3) and a random moment inside it, then started again.`,
      checked: "After every kill: PRAGMA integrity_check = ok; every outbox row still parses as a report; every event id the journal holds is in the outbox or at the hub. After every restart: the site reached the bundle by itself (applied, in sync, no pending step) with exactly the instances the release names, running its version. At the end: every event each site journaled was stored at the hub exactly once, in order; no 5xx.",
      figures: {
        "agent kills (SIGKILL)": kills.length, "kills that landed mid-apply": midApply, "converged after restart": converged,
        "integrity_check failures": integrityFailures, "events produced": total.produced, "events stored": total.stored, "events lost": total.missing.length, "5xx seen": errors5xx,
      },
      totals: { killsSurvived: kills.length, eventsProduced: total.produced, eventsStored: total.stored, serverErrors: errors5xx, dataLost: total.missing.length },
    });
  });
});
