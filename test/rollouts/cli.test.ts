import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Fleet } from "../lib/fleet.ts";
import { spawnOutpost, waitFor } from "../lib/processes.ts";
import { storeRelease } from "../lib/releases.ts";
import { SimFleet } from "../lib/sim-fleet.ts";

/** `outpost rollout ...` as an operator types it, against a real hub process and real sim agents. */
describe("outpost rollout", () => {
  const hub = new Fleet();
  const sims = new SimFleet(() => hub.url);
  const names = ["cafe-1", "cafe-2", "cafe-3", "cafe-4"];

  beforeAll(async () => {
    await hub.startHub({ OUTPOST_ROLLOUT_TICK_SECONDS: "1" });
    const { token } = await hub.op.createToken({ autoApprove: true, uses: names.length });
    await sims.add(names.map((name, i) => ({ name, labels: { region: i % 2 ? "north" : "south" } })), token);
    await hub.op.createRelease(storeRelease("1.0"));
    await hub.op.createRelease(storeRelease("1.1", { instances: 3 }));
    await hub.op.assign({ name: "store", version: "1.0" }, "");
    await hub.waitApplied(names, () => 1, 60_000);
  });
  afterAll(async () => { await sims.close(); await hub.close(); });

  async function outpost(...args: string[]): Promise<{ code: number | null; out: string }> {
    const p = spawnOutpost("cli", ["--hub", hub.url, "--token", hub.adminToken, ...args]);
    await waitFor(`outpost ${args.join(" ")} to exit`, () => !p.alive, 60_000, 20);
    return { code: p.child.exitCode, out: p.text() };
  }

  it("refuses a bad strategy naming the field, and changes nothing", async () => {
    const r = await outpost("rollout", "create", "store@1.1", "-s", "", "--waves", "1,50%");
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/strategy\.waves/);
    const w = await outpost("rollout", "create", "store@1.1", "-s", "", "--waves", "1,100%", "--window", "0 25 * * *|60|UTC");
    expect(w.code).toBe(1);
    expect(w.out).toMatch(/strategy\.windows\.0\.cron/);
    expect(await hub.op.listRollouts()).toEqual([]);
  });

  it("creates, starts and watches a rollout to the end with a progress bar", async () => {
    const created = await outpost("--json", "rollout", "create", "store@1.1", "-s", "", "--waves", "1,100%", "--max-unavailable", "1", "--group-by", "region", "--approval", "manual");
    expect(created.code).toBe(0);
    const id = JSON.parse(created.out).id as string;
    expect((await outpost("rollout", "start", id)).out).toMatch(/running/);
    await waitFor("the canary to succeed", async () => (await hub.op.getRollout(id)).waves[0]!.state === "succeeded");
    const status = await outpost("rollout", "status", id);
    expect(status.out).toMatch(/waiting for: approval of wave 2/);
    expect(status.out).toMatch(/\[#{8}\.{22}\] 1\/4 25%/);
    expect((await outpost("rollout", "approve", id)).code).toBe(0);

    const watched = await outpost("rollout", "status", id, "--watch", "--interval", "0.3");
    expect(watched.code).toBe(0);
    const lines = watched.out.trim().split("\n");
    expect(lines.at(-1)).toMatch(/^\[#{30}\] 4\/4 100%  completed/);
    expect(watched.out).toMatch(/site-started\s+wave 2\s+cafe-\d \((north|south)\)/);
    expect(watched.out).toMatch(/completed/);

    const list = await outpost("rollout", "list");
    expect(list.out).toMatch(new RegExp(`${id}\\s+store@1.1\\s+completed\\s+2/2\\s+4\\s+4`));
    const again = await outpost("rollout", "approve", id);
    expect(again.code).toBe(1);
    expect(again.out).toMatch(/ROLLOUT_NOT_ACTIVE|NO_NEXT_WAVE/);
  });
});
