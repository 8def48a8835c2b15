import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deleteSimObject, getSimObject, readAgentStatus, setSimField, stopSimInstance } from "@outpost/agent";
import { Fleet } from "../lib/fleet.ts";
import { storeRelease } from "../lib/releases.ts";
import { spawnOutpost, waitFor } from "../lib/processes.ts";
import { queuedEvents } from "../lib/state-file.ts";

/**
 * The uplink (here: the whole hub) goes away. Sites keep enforcing their last good bundle and keep
 * healing drift; events queue in the outbox; when the hub is back, every queued event arrives once.
 */
describe("sites keep going while the hub is down", () => {
  const fleet = new Fleet();
  const sites = ["depot-1", "depot-2"];
  // Reconnect quickly once the hub is back.
  const env = { OUTPOST_BACKOFF_CAP_MS: "1000", OUTPOST_LONG_POLL_SECONDS: "2" };
  const queued = new Map<string, { id: string; type: string }[]>();

  beforeAll(async () => {
    await fleet.startHub();
    const { token } = await fleet.op.createToken({ uses: 2, autoApprove: true });
    for (const s of sites) await fleet.startAgent(s, { token, env });
    await fleet.op.createRelease(storeRelease("1.0", { instances: 3 }));
    await waitFor("sites enrolled", async () => (await fleet.op.listSites()).length === 2);
    await fleet.op.assign({ name: "store", version: "1.0" }, "");
    await fleet.waitApplied(sites, () => 1);
  });
  afterAll(() => fleet.close());

  it("heals drift with the hub stopped and queues the events", async () => {
    await fleet.stopHub();
    for (const s of sites) {
      const dir = fleet.stateDir(s);
      // Three hand-made changes, one at a time, each healed before the next.
      expect(await deleteSimObject(dir, "lxd.instance", "pos-1")).toBe(true);
      await waitFor(`${s}: deleted instance recreated`, () => getSimObject(dir, "lxd.instance", "pos-1"));
      expect(await stopSimInstance(dir, "pos-2")).toBe(true);
      await waitFor(`${s}: stopped instance running again`, async () => (await getSimObject(dir, "lxd.instance", "pos-2"))?.fields.state === "running");
      expect(await setSimField(dir, "ceph.pool", "rbd-store", "size", 3)).toBe(true);
      await waitFor(`${s}: pool size restored`, async () => (await getSimObject(dir, "ceph.pool", "rbd-store"))?.fields.size === 1);

      const events = await waitFor(`${s}: three drift-healed events queued`, async () => {
        const q = await queuedEvents(dir);
        return q.filter((e) => e.type === "drift-healed").length >= 3 ? q : null;
      });
      expect(events.filter((e) => e.type === "drift-healed")).toHaveLength(3);
      queued.set(s, events);
      const status = await readAgentStatus(dir);
      expect(status.bundleVersion).toBe(1);
      expect(status.state).toBe("in-sync");
      expect(status.pendingReports).toBeGreaterThanOrEqual(3);
    }
  });

  it("`outpost agent status` answers from the state file while the hub is unreachable", async () => {
    const p = spawnOutpost("status", ["--json", "agent", "status", "--state-dir", fleet.stateDir("depot-1")]);
    await waitFor("status command to exit", () => !p.alive, 20_000);
    expect(p.child.exitCode).toBe(0);
    const s = JSON.parse(p.output.join(""));
    expect(s).toMatchObject({ site: "depot-1", bundleVersion: 1, release: { name: "store", version: "1.0" }, stale: false });
    expect(s.pendingReports).toBeGreaterThanOrEqual(3);
    expect(s.recentEvents.some((e: { type: string }) => e.type === "drift-healed")).toBe(true);
  });

  it("delivers every queued event exactly once when the hub is back", async () => {
    await fleet.startHub();
    for (const s of sites) {
      await waitFor(`${s}: outbox drained`, async () => (await readAgentStatus(fleet.stateDir(s))).pendingReports === 0, 30_000);
      const stored = await fleet.events(s);
      const ids = stored.map((e) => e.id);
      expect(new Set(ids).size).toBe(ids.length);
      for (const q of queued.get(s)!) expect(ids.filter((id) => id === q.id)).toHaveLength(1);
      expect(stored.filter((e) => e.body.type === "drift-healed")).toHaveLength(3);
      const healed = stored.filter((e) => e.body.type === "drift-healed").map((e) => (e.body.details as { kind: string; name: string }));
      expect(healed.map((d) => `${d.kind}/${d.name}`).sort()).toEqual(["ceph.pool/rbd-store", "lxd.instance/pos-1", "lxd.instance/pos-2"]);
    }
  });
});
