import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listSimObjects, readAgentStatus } from "@outpost/agent";
import { Fleet } from "../lib/fleet.ts";
import { storeRelease } from "../lib/releases.ts";
import { waitFor } from "../lib/processes.ts";
import { integrityCheck, withStateFile } from "../lib/state-file.ts";

/**
 * Power goes out mid-apply: the agent process is SIGKILLed while it is part-way through a plan,
 * three times at different points. Each restart must find an intact state file and converge.
 */
describe("an agent killed mid-apply converges after restart", () => {
  const fleet = new Fleet();
  const site = "kiosk-1";
  // Slow steps (as real LXD/Ceph calls are) so the kill lands inside the apply.
  const env = { OUTPOST_SIM_STEP_DELAY_MS: "150", OUTPOST_BACKOFF_CAP_MS: "1000" };
  const instances = 12;

  beforeAll(async () => {
    await fleet.startHub();
    const { token } = await fleet.op.createToken({ autoApprove: true });
    await fleet.startAgent(site, { token, env });
    await fleet.op.createRelease(storeRelease("1.0", { instances }));
    await waitFor("site enrolled", async () => (await fleet.op.listSites()).length === 1);
  });
  afterAll(() => fleet.close());

  const stepsDone = () => withStateFile(fleet.stateDir(site), async (db) =>
    Number((await db.execute("SELECT COUNT(*) FROM journal WHERE type = 'step-done'")).rows[0]![0]));

  it("survives three SIGKILLs at different points of the plan", async () => {
    await fleet.op.assign({ name: "store", version: "1.0" }, "");
    for (const after of [2, 8, 14]) {
      await waitFor(`${after} steps applied`, async () => (await stepsDone()) >= after, 30_000, 20);
      await fleet.agents.get(site)!.kill("SIGKILL");
      expect(await integrityCheck(fleet.stateDir(site))).toBe("ok");
      await fleet.startAgent(site, { env });
    }
    await fleet.waitApplied([site], () => 1, 60_000);
    expect(await integrityCheck(fleet.stateDir(site))).toBe("ok");

    const world = await listSimObjects(fleet.stateDir(site), "lxd.instance");
    expect(world.map((o) => o.name).sort()).toEqual(Array.from({ length: instances }, (_, i) => `pos-${i + 1}`).sort());
    expect(world.every((o) => o.fields.state === "running")).toBe(true);
    const status = await readAgentStatus(fleet.stateDir(site));
    expect(status).toMatchObject({ bundleVersion: 1, state: "in-sync", pendingSteps: 0 });
    // The events from before each kill were stored before they were sent: the hub has them.
    await waitFor("outbox drained", async () => (await readAgentStatus(fleet.stateDir(site))).pendingReports === 0);
    const received = await fleet.events(site, "bundle-received");
    expect(received.filter((e) => e.body.bundleVersion === 1)).toHaveLength(1);
  });
});
