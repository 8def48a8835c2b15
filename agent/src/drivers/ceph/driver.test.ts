// The Ceph driver against a real single-node cluster (test/daemons/ceph.ts: mon, mgr, one memstore
// OSD), started once for the whole file. The tests run in order and share the cluster; each uses its
// own pools so that what one leaves behind does not change what another sees.
import { convergeOnce } from "../converge.test-support.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Spec, type SpecInput } from "@outpost/shared";
import { start, type CephHandle } from "../../../../test/daemons/ceph.ts";
import { run, waitFor } from "../../../../test/daemons/util.ts";
import { orderSteps } from "../../reconcile/order.ts";
import type { Driver, Step } from "../types.ts";
import { createCephDriver, type CephDriver } from "./driver.ts";
import { healthEvents, type CephHealth } from "./health.ts";

interface PoolDetail { pool_name: string; size: number; pg_autoscale_mode: string; application_metadata: Record<string, Record<string, string>> }

let cluster: CephHandle;
let driver: CephDriver;

beforeAll(async () => {
  cluster = await start();
  driver = createCephDriver({ conf: cluster.conf, keyring: cluster.keyring });
}, 90_000);
afterAll(async () => { await cluster?.stop(); });

const spec = (ceph: NonNullable<SpecInput["ceph"]>) => Spec.parse({ ceph });
const pool = async (name: string) => (await cluster.cephJson<PoolDetail[]>("osd", "pool", "ls", "detail")).find((p) => p.pool_name === name);
const rbd = async (...args: string[]) => (await run("rbd", ["-c", cluster.conf, ...args])).stdout;
const imageMiB = async (img: string) => (JSON.parse(await rbd("info", img, "--format", "json")) as { size: number }).size / 2 ** 20;

describe("ceph driver (real single-node cluster)", () => {
  const site = spec({
    pools: [{ name: "vms", size: 1, pgAutoscale: "warn", application: "rbd" }, { name: "objects", size: 1, pgAutoscale: "off", application: "rgw" }],
    rbdImages: [{ pool: "vms", name: "disk0", sizeMiB: 16 }],
  });

  it("creates pools and an RBD image as the spec says, marked as Outpost's; a second pass plans nothing", async () => {
    const { steps, failed } = await convergeOnce(driver, site);
    expect(failed).toEqual([]);
    expect(steps.map((s) => s.id)).toEqual(["ceph/ceph.pool/vms/create", "ceph/ceph.pool/objects/create", "ceph/ceph.rbd-image/vms/disk0/create"]);

    expect(await pool("vms")).toMatchObject({ size: 1, pg_autoscale_mode: "warn", application_metadata: { rbd: { "outpost-owned": "true" } } });
    expect(await pool("objects")).toMatchObject({ size: 1, pg_autoscale_mode: "off", application_metadata: { rgw: { "outpost-owned": "true" } } });
    expect(await imageMiB("vms/disk0")).toBe(16);
    expect(JSON.parse(await rbd("image-meta", "list", "vms/disk0", "--format", "json"))).toEqual({ "outpost-owned": "true" });

    expect(driver.plan(site, await driver.observe())).toEqual([]);
  });

  it("heals a pool size changed by hand (size 2 is accepted on one OSD) and plans nothing after", async () => {
    await cluster.cephJson("osd", "pool", "set", "vms", "size", "2");
    expect((await pool("vms"))?.size).toBe(2);
    const { steps, failed } = await convergeOnce(driver, site);
    expect(failed).toEqual([]);
    expect(steps).toEqual([expect.objectContaining({ id: "ceph/ceph.pool/vms/update", before: expect.objectContaining({ size: 2 }), after: expect.objectContaining({ size: 1 }) })]);
    expect((await pool("vms"))?.size).toBe(1);
    expect(driver.plan(site, await driver.observe())).toEqual([]);
  });

  it("leaves a pool and image it did not create alone, even when the spec names the pool", async () => {
    await cluster.cephJson("osd", "pool", "create", "legacy", "--size", "1", "--autoscale-mode", "off");
    await rbd("pool", "init", "legacy");
    await rbd("create", "--size", "8M", "legacy/theirs");
    const before = await pool("legacy");
    // The spec wants it different (size, autoscale) and lists an image of its own in it.
    const withLegacy = spec({ ...site.ceph, pools: [...site.ceph.pools, { name: "legacy", size: 3, pgAutoscale: "on" }], rbdImages: [...site.ceph.rbdImages, { pool: "legacy", name: "mine", sizeMiB: 4 }] });
    const { steps, failed } = await convergeOnce(driver, withLegacy);
    expect(failed).toEqual([]);
    expect(steps.map((s) => s.id)).toEqual(["ceph/ceph.rbd-image/legacy/mine/create"]); // Outpost's own image in a foreign pool is fine
    expect(await pool("legacy")).toEqual(before);
    expect(await imageMiB("legacy/theirs")).toBe(8);
    // Dropped from the spec: Outpost's image goes (to the trash), the foreign pool and image stay.
    const dropped = await convergeOnce(driver, site);
    expect(dropped.steps.map((s) => s.id)).toEqual(["ceph/ceph.rbd-image/legacy/mine/delete"]);
    expect(dropped.failed).toEqual([]);
    expect(await pool("legacy")).toEqual(before);
    expect(JSON.parse(await rbd("ls", "legacy", "--format", "json"))).toEqual(["theirs"]);
  });

  it("grows an image when the spec grows it, and refuses a shrink with a clear error, keeping the data", async () => {
    const grown = spec({ ...site.ceph, rbdImages: [{ pool: "vms", name: "disk0", sizeMiB: 48 }] });
    expect((await convergeOnce(driver, grown)).failed).toEqual([]);
    expect(await imageMiB("vms/disk0")).toBe(48);

    const shrunk = spec({ ...site.ceph, rbdImages: [{ pool: "vms", name: "disk0", sizeMiB: 8 }] });
    const { steps, failed } = await convergeOnce(driver, shrunk);
    expect(steps.map((s) => s.id)).toEqual(["ceph/ceph.rbd-image/vms/disk0/update"]);
    expect(failed).toEqual([{ id: "ceph/ceph.rbd-image/vms/disk0/update", error: expect.stringMatching(/^refusing to shrink RBD image vms\/disk0 from 48 MiB to 8 MiB: shrinking destroys the data/) }]);
    expect(await imageMiB("vms/disk0")).toBe(48);
  });

  it("a dropped pool holding an image: the image goes to the RBD trash, the pool is kept until it is empty", async () => {
    const withScratch = spec({ pools: [...site.ceph.pools, { name: "scratch", size: 1, pgAutoscale: "off" }], rbdImages: [{ pool: "vms", name: "disk0", sizeMiB: 48 }, { pool: "scratch", name: "tmp", sizeMiB: 4 }] });
    expect((await convergeOnce(driver, withScratch)).failed).toEqual([]);
    const back = spec({ ...withScratch.ceph, pools: site.ceph.pools, rbdImages: [{ pool: "vms", name: "disk0", sizeMiB: 48 }] });

    const first = await convergeOnce(driver, back);
    expect(first.steps.map((s) => s.id)).toEqual(["ceph/ceph.rbd-image/scratch/tmp/delete", "ceph/ceph.pool/scratch/delete"]);
    expect(first.failed).toEqual([{ id: "ceph/ceph.pool/scratch/delete", error: expect.stringContaining("refusing to delete pool scratch: it still holds 1 image(s) in the RBD trash (purge with: rbd trash purge scratch)") }]);
    expect(JSON.parse(await rbd("trash", "ls", "scratch", "--format", "json"))).toEqual([expect.objectContaining({ name: "tmp" })]);
    expect(await pool("scratch")).toBeDefined();

    await rbd("trash", "purge", "scratch"); // the operator empties it
    const second = await convergeOnce(driver, back);
    expect(second).toEqual({ steps: [expect.objectContaining({ id: "ceph/ceph.pool/scratch/delete" })], failed: [] });
    expect(await pool("scratch")).toBeUndefined();
    expect(driver.plan(back, await driver.observe())).toEqual([]);
  });

  it("health: `ceph osd set noout` yields a ceph-health warning and shows in telemetry; unsetting it yields a recovery event", async () => {
    // Usually HEALTH_OK by now; on a loaded machine PGs of the pools the earlier tests dropped may still
    // be settling, so the checks below are about the noout flag's own check, whatever else is there.
    const before = await waitFor("HEALTH_OK before the test", async () => { const h = await driver.health(); return h.status === "HEALTH_OK" ? h : undefined; }, { timeoutMs: 30_000, everyMs: 500 })
      .catch(() => driver.health());
    const level = { HEALTH_OK: 0, HEALTH_WARN: 1, HEALTH_ERR: 2 } as const;
    expect(driver.metrics!(await driver.observe())).toMatchObject({ "ceph.health": level[before.status], "ceph.pool.owned": 2, "ceph.rbd-image.owned": 1 });

    await cluster.cephJson("osd", "set", "noout");
    let warned!: CephHealth;
    try {
      warned = await waitFor("OSDMAP_FLAGS", async () => { const h = await driver.health(); return h.checks.some((c) => c.code === "OSDMAP_FLAGS") ? h : undefined; }, { timeoutMs: 20_000, everyMs: 250 });
      const [event, ...more] = healthEvents(before, warned);
      expect(more).toEqual([]);
      expect(event).toMatchObject({ type: "ceph-health", details: { previous: before.status, added: expect.arrayContaining(["OSDMAP_FLAGS"]) } });
      expect(["warning", "error"]).toContain(event!.severity);
      expect(event!.message).toContain("OSDMAP_FLAGS: noout flag(s) set");
      const m = driver.metrics!(await driver.observe());
      expect(m["ceph.health"]).toBeGreaterThanOrEqual(1);
      expect(m["ceph.health.checks"]).toBeGreaterThanOrEqual(1);
      const again = await driver.health();
      if (again.checks.length === warned.checks.length) expect(healthEvents(warned, again)).toEqual([]); // the same warning: no repeat
    } finally {
      await cluster.cephJson("osd", "unset", "noout");
    }
    const recovered = await waitFor("OSDMAP_FLAGS cleared", async () => { const h = await driver.health(); return h.checks.some((c) => c.code === "OSDMAP_FLAGS") ? undefined : h; }, { timeoutMs: 20_000, everyMs: 250 });
    const [event] = healthEvents(warned, recovered);
    expect(event).toMatchObject({ type: "ceph-health", details: { cleared: expect.arrayContaining(["OSDMAP_FLAGS"]) } });
    if (recovered.status === "HEALTH_OK") expect(event).toMatchObject({ severity: "info", code: "HEALTH_OK", message: expect.stringContaining("back to HEALTH_OK (cleared: OSDMAP_FLAGS") });
  });
});
