import { createClient } from "@libsql/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OperatorClient } from "@outpost/shared";
import { start as startSqld, type SqldHandle } from "../daemons/sqld.ts";
import { Fleet } from "../lib/fleet.ts";
import { spawnOutpost, waitFor, type OutpostProcess } from "../lib/processes.ts";
import { storeRelease } from "../lib/releases.ts";
import { startsPerSite, waitForRollout } from "../lib/rollouts.ts";
import { SimFleet } from "../lib/sim-fleet.ts";

/**
 * Two hub processes, each with its own data directory, on ONE database server (the real sqld, as
 * replicas run in production): only the holder of the DB lease runs the engine (every engine event
 * names its replica); when the holder is SIGKILLed the other takes the lease over once it expires
 * and finishes the rollout, and no site is started twice.
 */
describe("two hub replicas on one database server (sqld)", () => {
  const fleet = new Fleet();
  let other!: OutpostProcess;
  let otherUrl = "";
  const names = ["hq-1", "hq-2", "hq-3", "hq-4", "hq-5", "hq-6"];
  let sims!: SimFleet;
  let sqld!: SqldHandle;
  const leaseHolder = async () => {
    const db = createClient({ url: sqld.url });
    try { return (await db.execute("SELECT holder FROM leases WHERE name = 'rollouts'")).rows[0]?.holder as string | undefined; } finally { db.close(); }
  };
  const pidOf = (holder: string) => Number(holder.split(":").at(-2));

  beforeAll(async () => {
    sqld = await startSqld();
    await fleet.startHub({ OUTPOST_ROLLOUT_TICK_SECONDS: "1", DATABASE_URL: sqld.url });
    other = spawnOutpost("hub-b", ["hub", "start", "--data-dir", `${fleet.dir}/hub-b`, "--port", "0", "--database-url", sqld.url], { OUTPOST_ROLLOUT_TICK_SECONDS: "1" });
    otherUrl = (await other.waitForOutput(/outpost hub listening on (http:\/\/\S+)/))[1]!;
  });
  afterAll(async () => { await sims?.close(); await other?.kill("SIGKILL"); await fleet.close(); await sqld?.stop(); });

  it("only the lease holder acts, and the other replica takes over when it dies", async () => {
    const holder = await waitFor("a replica to hold the lease", leaseHolder);
    const leader = [fleet.hub, other].find((p) => p.child.pid === pidOf(holder))!;
    const follower = leader === other ? fleet.hub : other;
    expect(leader).toBeDefined();
    // Agents talk to the replica that survives (behind a load balancer they would move on by themselves).
    const survivorUrl = follower === other ? otherUrl : fleet.url;
    const op = new OperatorClient(survivorUrl, fleet.adminToken);
    sims = new SimFleet(() => survivorUrl);
    const { token } = await op.createToken({ autoApprove: true, uses: names.length });
    await sims.add(names.map((name) => ({ name })), token);
    await op.createRelease(storeRelease("1.0"));
    await op.createRelease(storeRelease("1.1", { instances: 3 }));
    await op.assign({ name: "store", version: "1.0" }, "");
    await fleet.waitApplied(names, () => 1, 60_000);

    // Manual approval, so wave 1 (the canary) runs under the first leader and the rest after it dies.
    const ro = await op.createRollout({ release: { name: "store", version: "1.1" }, selector: "", strategy: { waves: [1, "100%"], approval: "manual", waveTimeoutSeconds: 60 } });
    await op.rolloutAction(ro.id, "start");
    await waitForRollout(() => op, ro.id, "the canary wave to end", (v) => v.waves[0]!.state === "succeeded", 60_000);
    const first = (await op.rolloutEvents(ro.id)).filter((e) => e.actor !== "operator");
    expect(new Set(first.map((e) => e.actor))).toEqual(new Set([holder]));

    await leader.kill("SIGKILL");
    await op.rolloutAction(ro.id, "approve");
    const done = await waitForRollout(() => op, ro.id, "the rollout to complete on the surviving replica", (v) => v.status !== "running", 60_000);
    expect(done.status).toBe("completed");
    const engine = (await op.rolloutEvents(ro.id)).filter((e) => e.actor !== "operator");
    const after = engine.slice(first.length);
    const newHolder = await leaseHolder();
    expect(pidOf(newHolder!)).toBe(follower.child.pid);
    expect(new Set(after.map((e) => e.actor))).toEqual(new Set([newHolder]));
    // Never both: the first holder's events all come before the second's.
    expect(engine.map((e) => e.actor)).toEqual([...first.map(() => holder), ...after.map(() => newHolder)]);
    expect(Object.values(startsPerSite(engine)).every((n) => n === 1)).toBe(true);
  });
});
