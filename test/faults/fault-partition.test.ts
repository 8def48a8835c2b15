import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deleteSimObject, getSimObject, readAgentStatus, setSimField, stopSimInstance } from "@outpost/agent";
import { Fleet } from "../lib/fleet.ts";
import { waitFor } from "../lib/processes.ts";
import { storeRelease } from "../lib/releases.ts";
import { SimFleet } from "../lib/sim-fleet.ts";
import { queuedEvents } from "../lib/state-file.ts";
import { fleetLedger, producedEvents, serverErrors } from "./lib/ledger.ts";
import { TcpProxy } from "./lib/tcp-proxy.ts";
import { recordCase } from "./report.ts";

/**
 * A partition: 20 sites lose their uplink at once (a TCP proxy between them and the hub drops every
 * packet; connections open at that moment never carry a byte again). Meanwhile each site suffers drift
 * and a failing repair, heals by itself and queues the events; the operator assigns a new release.
 * Then the link comes back: every event each site produced (its journal) reaches the hub exactly
 * once and in the order it was produced, and every site converges on the new release by itself.
 */
describe("partition: 20 sites cut from the hub, then healed", () => {
  const hub = new Fleet();
  const proxy = new TcpProxy(() => ({ port: hub.port }));
  // Short timeouts so a test minute is an outage of hours: every request the blackhole swallows must
  // be given up by the agent itself (nothing ever answers or resets it).
  const sims = new SimFleet(() => proxy.url, { agent: { longPollSeconds: 2, hubTimeoutSeconds: 4, backoffCapMs: 1500 } });
  const names = Array.from({ length: 20 }, (_, i) => `cell-${String(i + 1).padStart(2, "0")}`);
  const dirs = Object.fromEntries(names.map((n) => [n, sims.stateDir(n)]));
  /** The cut lasts at least this long: several request timeouts and backoff caps. */
  const CUT_MS = 20_000;

  beforeAll(async () => {
    await hub.startHub();
    await proxy.start();
    const { token } = await hub.op.createToken({ autoApprove: true, uses: names.length });
    await sims.add(names.map((name) => ({ name })), token);
    await hub.op.createRelease(storeRelease("1.0", { instances: 3 }));
    await hub.op.createRelease(storeRelease("1.1", { instances: 4 }));
    await hub.op.assign({ name: "store", version: "1.0" }, "");
    await hub.waitApplied(names, () => 1, 60_000);
  });
  afterAll(async () => { await sims.close(); await proxy.close(); await hub.close(); });

  it("every event arrives exactly once, in order per site, and every site converges", { timeout: 240_000 }, async () => {
    const before = new Map<string, number>();
    for (const n of names) before.set(n, (await producedEvents(dirs[n]!)).length);
    const cutAt = Date.now();
    proxy.blackhole();

    // The release the operator ships while the sites are cut off.
    await hub.op.assign({ name: "store", version: "1.1" }, "");

    // Drift on every site, three kinds, each healed locally before the next; plus a repair that fails
    // (an injected fault) and is quarantined, then succeeds once the fault is gone.
    await Promise.all(names.map(async (n) => {
      const dir = dirs[n]!;
      await sims.setFaults(n, ["pos-3"]);
      expect(await stopSimInstance(dir, "pos-3")).toBe(true);
      expect(await deleteSimObject(dir, "lxd.instance", "pos-1")).toBe(true);
      await waitFor(`${n}: pos-1 recreated offline`, () => getSimObject(dir, "lxd.instance", "pos-1"), 30_000);
      expect(await stopSimInstance(dir, "pos-2")).toBe(true);
      await waitFor(`${n}: pos-2 running again`, async () => (await getSimObject(dir, "lxd.instance", "pos-2"))?.fields.state === "running", 30_000);
      expect(await setSimField(dir, "ceph.pool", "rbd-store", "size", 3)).toBe(true);
      await waitFor(`${n}: pool size restored`, async () => (await getSimObject(dir, "ceph.pool", "rbd-store"))?.fields.size === 1, 30_000);
      await waitFor(`${n}: the failing repair quarantined`, async () => (await queuedEvents(dir)).some((e) => e.type === "step-quarantined"), 30_000);
      await sims.setFaults(n, []);
      await waitFor(`${n}: pos-3 repaired after its quarantine`, async () => (await getSimObject(dir, "lxd.instance", "pos-3"))?.fields.state === "running", 30_000);
      // More drift, one change at a time, until the cut has lasted well past every timeout and backoff.
      for (let round = 0; Date.now() - cutAt < CUT_MS; round++) {
        const victim = `pos-${(round % 3) + 1}`;
        expect(await deleteSimObject(dir, "lxd.instance", victim)).toBe(true);
        await waitFor(`${n}: ${victim} recreated (round ${round})`, () => getSimObject(dir, "lxd.instance", victim), 30_000);
      }
    }));

    // Still cut off: nothing of this reached the hub, and every site still runs the old release.
    const duringCut = new Map<string, number>();
    for (const n of names) {
      const queued = await queuedEvents(dirs[n]!);
      expect(queued.filter((e) => e.type === "drift-healed").length, n).toBeGreaterThanOrEqual(5);
      duringCut.set(n, (await producedEvents(dirs[n]!)).length - before.get(n)!);
      expect((await readAgentStatus(dirs[n]!)).bundleVersion).toBe(1);
    }
    const atHubDuringCut = (await hub.op.reports({ kind: "event", type: "drift-healed", limit: 10_000 })).length;
    expect(atHubDuringCut).toBe(0);
    const cutSeconds = (Date.now() - cutAt) / 1000;

    await proxy.pass();
    const healedAt = Date.now();
    // By itself: no restart, no nudge. Converged = v2 applied and in sync, no event left in the outbox.
    await hub.waitApplied(names, () => 2, 90_000);
    await waitFor("every outbox emptied of events", async () => {
      for (const n of names) if ((await queuedEvents(dirs[n]!)).length) return false;
      return true;
    }, 60_000);
    const recoverSeconds = (Date.now() - healedAt) / 1000;

    const { total, bad } = await fleetLedger(hub.hubDataDir, dirs);
    expect(bad).toEqual({});
    expect(total.missing).toEqual([]);
    expect(total.duplicated).toEqual([]);
    expect(total.stored).toBe(total.produced);
    for (const s of await hub.op.listSites()) expect([s.name, s.state, s.appliedVersion, s.release]).toEqual([s.name, "in-sync", 2, "store@1.1"]);
    const errors5xx = serverErrors(hub.hub.text());
    expect(errors5xx).toBe(0);

    const producedInCut = [...duringCut.values()].reduce((a, b) => a + b, 0);
    recordCase({
      id: "partition-20-agents",
      section: "Faults",
      title: "Partition: 20 sites cut from the hub, drifting, then healed",
      done: `20 sim agents (the real agent code, in one process) reach the hub through a TCP proxy that was switched to drop everything for ${cutSeconds.toFixed(0)} s; connections open at the cut never carried a byte again. Meanwhile every site had an instance deleted, one stopped, a Ceph pool resized, a repair failing on an injected fault (retried, quarantined, then repaired), then instances deleted one after another until the cut ended; and the operator assigned a new release.`,
      checked: "While cut: each site healed its drift locally, queued the events, kept its bundle, and the hub had none of them. After the link came back, with no restart: every event id in every site's journal was stored at the hub exactly once, in the order the site produced it (hub insertion order vs journal order), no foreign ids; every site applied the new release and reported in sync; no 5xx.",
      figures: {
        sites: names.length, "cut (s)": Math.round(cutSeconds), "events produced (all)": total.produced, "events produced during the cut": producedInCut,
        "events stored": total.stored, "missing": total.missing.length, "stored twice": total.duplicated.length, "out of order": total.outOfOrder,
        "connections blackholed": proxy.stats.blackholed, "recovery after heal (s)": Math.round(recoverSeconds), "5xx seen": errors5xx,
      },
      totals: { eventsProduced: total.produced, eventsStored: total.stored, serverErrors: errors5xx, dataLost: total.missing.length },
    });
  });
});
