import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listSimObjects, readAgentStatus } from "@outpost/agent";
import { Fleet } from "../lib/fleet.ts";
import { sleep, spawnOutpost, waitFor, type OutpostProcess } from "../lib/processes.ts";
import { storeRelease } from "../lib/releases.ts";
import { integrityCheck, withStateFile } from "../lib/state-file.ts";
import { cpuSeconds, serverErrors, siteLedgerSettled } from "./lib/ledger.ts";
import { Tmpfs } from "./lib/tmpfs.ts";
import { recordCase } from "./report.ts";

/**
 * The file system under the agent's state directory fills up (a small tmpfs the test mounts there,
 * then fills to the last byte). The agent can record nothing, so it changes nothing: it keeps the
 * site as the last good bundle left it, keeps running, says once in its log what is wrong, and tells
 * the hub directly (a degraded status naming the full directory) since its outbox cannot take
 * anything. When space comes back it carries on by itself: the release assigned meanwhile is applied
 * and a storage-full event tells the hub how long it lasted. The state file stays intact throughout.
 */
describe("the agent's state directory runs out of space", () => {
  const fleet = new Fleet();
  const site = "depot-full";
  const SIZE = 2 * 1024 * 1024; // the state file, and a WAL cut back to 512 KiB after each checkpoint
  const fs = new Tmpfs(fleet.stateDir(site), SIZE);
  let agent!: OutpostProcess;

  beforeAll(async () => {
    await fleet.startHub();
    fs.mount();
    for (const v of ["6.0", "6.1"]) await fleet.op.createRelease(storeRelease(v, { instances: v === "6.0" ? 2 : 3 }));
    const { token } = await fleet.op.createToken({ autoApprove: true });
    agent = await fleet.startAgent(site, { token, env: { OUTPOST_BACKOFF_CAP_MS: "1000", OUTPOST_LONG_POLL_SECONDS: "2", OUTPOST_HUB_TIMEOUT_SECONDS: "4" } });
    await waitFor("site enrolled", async () => (await fleet.op.listSites()).length === 1);
    await fleet.op.assign({ name: "store", version: "6.0" }, "");
    await fleet.waitApplied([site], () => 1);
  });
  afterAll(async () => {
    await agent?.kill("SIGKILL");
    fs.unmount();
    await fleet.close();
  });

  const world = async () => (await listSimObjects(fs.dir)).map((o) => `${o.kind}/${o.name}:${JSON.stringify(o.fields)}`);

  it("degrades, tells the hub, keeps the site as it was, and recovers by itself", async () => {
    const before = await world();
    const logFrom = agent.text().length, cpu0 = cpuSeconds(agent.child.pid!);
    // The WAL checkpointed and cut to nothing first: SQLite cuts a long WAL back to 512 KiB after a
    // checkpoint, which would hand the agent some space back and make "full" a matter of luck.
    await withStateFile(fs.dir, (db) => db.execute("PRAGMA wal_checkpoint(TRUNCATE)"));
    const filled = fs.fill();
    const t0 = Date.now();
    expect(fs.freeBytes()).toBe(0);
    await fleet.op.assign({ name: "store", version: "6.1" }, "");

    // It says what is wrong: once in its log, and to the hub past the outbox.
    await waitFor("the agent's log to say the state directory is full", () => /state directory \S+ is full/.test(agent.text().slice(logFrom)), 30_000);
    const degraded = await waitFor("the hub to show the site degraded, saying why", async () => {
      const s = await fleet.site(site);
      if (s.state !== "degraded") return null;
      const [latest] = await fleet.op.reports({ site, kind: "status", limit: 1 });
      return /state directory .* full/.test(String(latest?.body.message)) ? latest : null;
    }, 30_000);
    const cli = spawnOutpost("status", ["agent", "status", "--state-dir", fs.dir]);
    await waitFor("status command to exit", () => !cli.alive, 20_000);
    expect(cli.text()).toMatch(/state dir free: +0\.0 MiB +FULL/);
    await sleep(t0 + 8_000 - Date.now()); // long enough for many heal ticks, reports and retries

    // What it said about the disk (a slow hub under load may add lines of its own, which are not this case's).
    const during = agent.text().slice(logFrom).split("\n").filter((l) => /SQLITE_FULL|ENOSPC|is full/.test(l));
    expect(agent.alive, "agent still running").toBe(true);
    expect((await readAgentStatus(fs.dir)).bundleVersion, "kept its last good bundle").toBe(1);
    expect(await world(), "nothing on the site changed or torn").toEqual(before);
    // Said once per kind of failure, not once per retry: a handful of lines over the whole outage.
    expect(during.filter((l) => /state directory \S+ is full/.test(l))).toHaveLength(1);
    expect(during.length, during.join("\n")).toBeLessThanOrEqual(6);
    const faultSeconds = (Date.now() - t0) / 1000;
    const cpuShare = (cpuSeconds(agent.child.pid!) - cpu0) / faultSeconds;
    expect(cpuShare).toBeLessThan(0.5);

    fs.free();
    const freedAt = Date.now();
    await fleet.waitApplied([site], () => 2, 60_000);
    const ev = await waitFor("the storage-full event at the hub", async () => (await fleet.events(site, "storage-full"))[0], 30_000);
    const details = ev.body.details as { since: string; until: string; failedWrites: number };
    expect(details.failedWrites).toBeGreaterThan(0);
    expect(Date.parse(details.until)).toBeGreaterThan(Date.parse(details.since));
    const recoverSeconds = (Date.now() - freedAt) / 1000;
    const instances = (await listSimObjects(fs.dir, "lxd.instance")).map((o) => o.name).sort();
    expect(instances).toEqual(["pos-1", "pos-2", "pos-3"]);
    expect(await integrityCheck(fs.dir)).toBe("ok");
    const ledger = await siteLedgerSettled(fleet.hubDataDir, site, fs.dir);
    expect(ledger).toMatchObject({ missing: [], duplicated: [], foreign: [], outOfOrder: 0, idsUnsorted: 0 });
    const errors5xx = serverErrors(fleet.hub.text());
    expect(errors5xx).toBe(0);

    recordCase({
      id: "disk-full-state-dir", section: "Faults", title: "Full disk under the agent's state directory",
      done: `The agent's state directory is a ${SIZE / 1048576} MiB tmpfs; once the site had converged (and its WAL was checkpointed) it was filled to the last byte (${(filled / 1048576).toFixed(1)} MiB of filler) for ${Math.round(faultSeconds)} s while a new release was assigned at the hub, then the filler was deleted.`,
      checked: "While full: the agent process kept running; its bundle and the simulated site stayed exactly as they were (it records every step before taking it, so it took none); its log said once that the directory is full (≤ 6 lines about it in all, one per loop that met it); the hub showed the site degraded, from a status sent past the outbox naming the full directory; `outpost agent status` showed 0 MiB free, FULL; < 50% of a core. After space came back, by itself: the new release applied, a storage-full event with the outage's start, end and refused writes at the hub, PRAGMA integrity_check ok, every journaled event stored exactly once, in order; no 5xx.",
      figures: {
        "tmpfs (MiB)": SIZE / 1048576, "full for (s)": Math.round(faultSeconds), "writes refused": details.failedWrites, "agent log lines about it while full": during.length,
        "agent CPU while full (% of a core)": Math.round(cpuShare * 100), "status seen by the hub": String(degraded.body.state), "recovery after freeing (s)": Math.round(recoverSeconds),
        "events produced": ledger.produced, "events stored": ledger.stored, "events lost": ledger.missing.length, "5xx seen": errors5xx,
      },
      totals: { eventsProduced: ledger.produced, eventsStored: ledger.stored, serverErrors: errors5xx, dataLost: ledger.missing.length },
    });
  });
});
