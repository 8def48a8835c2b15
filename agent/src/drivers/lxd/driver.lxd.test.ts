/**
 * The LXD driver against the real LXD (test/daemons/lxd.ts starts it when it is not running; if it
 * cannot start, every test here fails with the daemon's log). LXD is machine-wide: everything
 * here is named `t3lxd-...` and cleaned up before and after; LXD's own `default` profile and pool,
 * which other tests use at the same time, are never changed here (the plan tests cover adopting them).
 * The tests build on each other, in order, like the life of one site.
 */
import { createHash, randomInt } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Spec, type Artifact, type SpecInput } from "@outpost/shared";
import { buildBusyboxImage, cleanupLxd, ensureLxd, holdLxd, lxdGet, lxdOperation, lxdRequest, type BusyboxImage } from "../../../../test/daemons/lxd.ts";
import type { ArtifactSource } from "../../artifacts/types.ts";
import { orderSteps } from "../../reconcile/order.ts";
import { isEtagMismatch, LxdClient } from "./client.ts";
import { convergeOrThrow as convergeOnce, pending } from "../converge.test-support.ts";
import { createLxdDriver } from "./driver.ts";
import type { RawInstance, RawProfile } from "./normalize.ts";

const P = "t3lxd-";
const ARTIFACT = `${P}busybox`;

/** A real ArtifactSource for one test: hands out the tarballs it was given, after checking their digest and size. */
class FileArtifacts implements ArtifactSource {
  readonly files = new Map<string, string>();
  readonly fetched: string[] = [];
  add(img: BusyboxImage): Artifact {
    this.files.set(img.sha256, img.path);
    return { name: ARTIFACT, sha256: img.sha256, size: img.size, url: `/agent/v1/artifacts/${img.sha256}` };
  }
  async fetch(a: Artifact): Promise<string> {
    const path = this.files.get(a.sha256);
    if (!path) throw new Error(`no artifact ${a.sha256}`);
    const data = readFileSync(path);
    if (data.length !== a.size || createHash("sha256").update(data).digest("hex") !== a.sha256) throw new Error(`artifact ${a.name} does not match its digest`);
    this.fetched.push(a.sha256);
    return path;
  }
}

async function cleanup(): Promise<void> {
  await cleanupLxd(P);
  // Images the driver imported carry the artifact name as a property.
  for (const img of await lxdGet<{ fingerprint: string; properties: Record<string, string> | null }[]>("/1.0/images?recursion=1")) {
    if (img.properties?.["outpost.artifact"]?.startsWith(P)) await lxdOperation("DELETE", `/1.0/images/${img.fingerprint}`);
  }
}

const instance = (name: string) => lxdGet<RawInstance>(`/1.0/instances/${P}${name}`);
const subnet = `10.214.${randomInt(10, 250)}`;

const siteSpec = (over: Partial<NonNullable<SpecInput["lxd"]>> = {}) => Spec.parse({
  lxd: {
    storagePools: [{ name: `${P}pool`, driver: "dir" }],
    networks: [{ name: `${P}br0`, config: { "ipv4.address": `${subnet}.1/24`, "ipv4.nat": "false", "ipv6.address": "none" } }],
    profiles: [{
      name: `${P}web`, description: "web tier", config: { "limits.memory": "64MB" },
      devices: { root: { type: "disk", path: "/", pool: `${P}pool` }, eth0: { type: "nic", network: `${P}br0`, name: "eth0" } },
    }],
    instances: [
      { name: `${P}c1`, image: { artifact: ARTIFACT }, profiles: [`${P}web`] },
      { name: `${P}c2`, image: { artifact: ARTIFACT }, profiles: [`${P}web`], config: { "user.role": "second" } },
    ],
    ...over,
  },
});

describe("LXD driver against the real LXD", () => {
  let dir: string;
  let img: BusyboxImage;
  const artifacts = new FileArtifacts();
  let bundleArtifacts: Artifact[] = [];
  const opts = () => ({ artifacts, currentArtifacts: () => bundleArtifacts });
  // Force stops where the test does not look at graceful shutdown (busybox takes ~3 s to halt).
  const driver = createLxdDriver({ ...opts(), stopTimeoutSeconds: 0 });
  let spec = siteSpec();

  let releaseLxd: (() => void) | undefined;
  beforeAll(async () => {
    await ensureLxd();
    releaseLxd = await holdLxd("agent lxd driver test");
    await cleanup();
    dir = mkdtempSync(join(tmpdir(), "t3lxd-"));
    img = await buildBusyboxImage(dir);
    bundleArtifacts = [artifacts.add(img)];
  }, 600_000); // may wait its turn for LXD (holdLxd)

  afterAll(async () => {
    try { await cleanup(); } finally { releaseLxd?.(); if (dir) rmSync(dir, { recursive: true, force: true }); }
  });

  it("builds an empty site from the spec: pool, bridge, profile, two running containers from the artifact image (imported once); a second pass plans nothing", async () => {
    const steps = await convergeOnce(driver, spec);
    expect(steps.map((s) => s.id)).toEqual([
      `lxd/lxd.storage-pool/${P}pool/create`, `lxd/lxd.network/${P}br0/create`, `lxd/lxd.profile/${P}web/create`,
      `lxd/lxd.instance/${P}c1/create`, `lxd/lxd.instance/${P}c2/create`,
    ]);
    for (const name of ["c1", "c2"]) {
      const i = await instance(name);
      expect(i.status).toBe("Running");
      expect(i.config).toMatchObject({ "volatile.base_image": img.sha256, "user.outpost.owned": "true" });
      expect((i as unknown as { expanded_config: Record<string, string> }).expanded_config["limits.memory"]).toBe("64MB");
    }
    expect(artifacts.fetched).toEqual([img.sha256]);
    const image = await lxdGet<{ properties: Record<string, string> }>(`/1.0/images/${img.sha256}`);
    expect(image.properties["outpost.artifact"]).toBe(ARTIFACT);
    // LXD filled in the pool's source itself: that is not drift.
    expect((await lxdGet<{ config: Record<string, string> }>(`/1.0/storage-pools/${P}pool`)).config).toEqual({ source: `/var/lib/lxd/storage-pools/${P}pool`, "user.outpost.owned": "true" });
    expect(await pending(driver, spec)).toEqual([]);
  });

  it("heals drift: a container stopped by hand is started, one deleted by hand is recreated, a hand-edited profile is restored", async () => {
    await lxdOperation("PUT", `/1.0/instances/${P}c1/state`, { action: "stop", force: true });
    await lxdOperation("PUT", `/1.0/instances/${P}c2/state`, { action: "stop", force: true });
    await lxdOperation("DELETE", `/1.0/instances/${P}c2`);
    await lxdRequest("PATCH", `/1.0/profiles/${P}web`, { config: { "limits.memory": "256MB", "user.hand": "edit" } });

    const steps = await convergeOnce(driver, spec);
    expect(steps.map((s) => s.id)).toEqual([`lxd/lxd.profile/${P}web/update`, `lxd/lxd.instance/${P}c1/start`, `lxd/lxd.instance/${P}c2/create`]);
    expect((await instance("c1")).status).toBe("Running");
    expect((await instance("c2")).status).toBe("Running");
    expect((await lxdGet<RawProfile>(`/1.0/profiles/${P}web`)).config).toEqual({ "limits.memory": "64MB", "user.outpost.owned": "true" });
    expect(artifacts.fetched).toHaveLength(1); // the image was still there
    expect(await pending(driver, spec)).toEqual([]);
  });

  it("thaws a container frozen by hand; a create retried after LXD already did it (agent killed mid-step) converges instead of failing", async () => {
    await lxdOperation("PUT", `/1.0/instances/${P}c1/state`, { action: "freeze" });
    expect((await instance("c1")).status).toBe("Frozen");
    expect((await convergeOnce(driver, spec)).map((s) => s.id)).toEqual([`lxd/lxd.instance/${P}c1/start`]);
    expect((await instance("c1")).status).toBe("Running");

    const extra = siteSpec({ profiles: [...spec.lxd.profiles, { name: `${P}extra`, description: "", config: { "limits.cpu": "1" }, devices: {} }] });
    const [create] = await pending(driver, extra);
    expect(create!.id).toBe(`lxd/lxd.profile/${P}extra/create`);
    await driver.apply(create!);
    await driver.apply(create!);
    expect(await pending(driver, extra)).toEqual([]);
    expect((await convergeOnce(driver, spec)).map((s) => s.id)).toEqual([`lxd/lxd.profile/${P}extra/delete`]);
  });

  it("leaves containers it did not create alone, even one the spec names", async () => {
    for (const name of ["pet", "stray"]) {
      await lxdOperation("POST", "/1.0/instances", { name: `${P}${name}`, source: { type: "image", fingerprint: img.sha256 }, profiles: [`${P}web`] });
    }
    const withPet = siteSpec({ instances: [...spec.lxd.instances, { name: `${P}pet`, image: { artifact: ARTIFACT }, profiles: [`${P}web`], config: { "limits.cpu": "1" }, devices: {}, state: "running", type: "container" }] });
    expect(await convergeOnce(driver, withPet)).toEqual([]);
    for (const name of ["pet", "stray"]) {
      const i = await instance(name);
      expect(i.status).toBe("Stopped");
      expect(i.config?.["user.outpost.owned"]).toBeUndefined();
      expect(i.config?.["limits.cpu"]).toBeUndefined();
    }
  });

  it("changes config in place (same container, LXD's volatile keys kept) and stops a container gracefully", async () => {
    const uuid = (await instance("c2")).config?.["volatile.uuid"];
    spec = siteSpec({
      instances: [
        { name: `${P}c1`, image: { artifact: ARTIFACT }, profiles: [`${P}web`], state: "stopped" },
        { name: `${P}c2`, image: { artifact: ARTIFACT }, profiles: [`${P}web`], config: { "user.role": "changed", "limits.cpu": "1" } },
      ],
    });
    const warnings: string[] = [];
    const graceful = createLxdDriver({ ...opts(), stopTimeoutSeconds: 15, log: { info: () => {}, warn: (_o, msg) => warnings.push(msg) } });
    const steps = await convergeOnce(graceful, spec);
    expect(steps.map((s) => `${s.id}${s.disruptive ? " (disruptive)" : ""}`)).toEqual([`lxd/lxd.instance/${P}c1/stop`, `lxd/lxd.instance/${P}c2/update`]);
    const c2 = await instance("c2");
    expect(c2.config).toMatchObject({ "user.role": "changed", "limits.cpu": "1", "volatile.uuid": uuid, "user.outpost.owned": "true" });
    expect(c2.status).toBe("Running");
    expect((await instance("c1")).status).toBe("Stopped");
    expect(warnings).toEqual([]); // it shut down by itself; no forced stop was needed
    expect(await pending(driver, spec)).toEqual([]);
  });

  it("a new image in the bundle rebuilds the containers from it (a disruptive step), keeping their state", async () => {
    const img2 = await buildBusyboxImage(dir);
    bundleArtifacts = [artifacts.add(img2)];
    const planned = await pending(driver, spec);
    expect(planned.map((s) => [s.id, s.disruptive])).toEqual([[`lxd/lxd.instance/${P}c1/update`, true], [`lxd/lxd.instance/${P}c2/update`, true]]);
    await convergeOnce(driver, spec);
    const [c1, c2] = [await instance("c1"), await instance("c2")];
    expect([c1.config?.["volatile.base_image"], c2.config?.["volatile.base_image"]]).toEqual([img2.sha256, img2.sha256]);
    expect([c1.status, c2.status]).toEqual(["Stopped", "Running"]);
    expect(c2.config?.["user.role"]).toBe("changed");
    expect(artifacts.fetched).toEqual([img.sha256, img2.sha256]);
    expect(await pending(driver, spec)).toEqual([]);
  });

  it("If-Match: a PUT built from a read that a hand edit has since overtaken fails with 412 and overwrites nothing", async () => {
    const client = new LxdClient();
    const read = await client.get<RawProfile>(`/1.0/profiles/${P}web`);
    expect(read.etag).toMatch(/^"?[0-9a-f]{64}"?$/);
    await lxdRequest("PATCH", `/1.0/profiles/${P}web`, { config: { "user.hand": "edit" } });
    const err = await client.call("PUT", `/1.0/profiles/${P}web`, { ...read.data, config: { ...read.data.config, "limits.memory": "1GB" } }, { etag: read.etag }).catch((e: unknown) => e);
    expect(isEtagMismatch(err)).toBe(true);
    expect((await lxdGet<RawProfile>(`/1.0/profiles/${P}web`)).config).toMatchObject({ "user.hand": "edit", "limits.memory": "64MB" });
    // The next pass reads again and restores the spec.
    expect((await convergeOnce(driver, spec)).map((s) => s.id)).toEqual([`lxd/lxd.profile/${P}web/update`]);
  });

  it("an image alias LXD does not have fails the create with a clear message and creates nothing; an aborted apply stops at once", async () => {
    const s = siteSpec({ instances: [...spec.lxd.instances, { name: `${P}c3`, image: { alias: `${P}nope` }, profiles: [`${P}web`], config: {}, devices: {}, state: "running", type: "container" }] });
    const [create] = await pending(driver, s);
    expect(create!.id).toBe(`lxd/lxd.instance/${P}c3/create`);
    await expect(driver.apply(create!)).rejects.toThrow(`image alias ${P}nope does not exist in LXD; this site has no access to image servers`);
    await expect(driver.apply({ ...create!, after: { ...(create!.after as object), image: { artifact: ARTIFACT } } }, AbortSignal.abort())).rejects.toMatchObject({ name: "AbortError" });
    await expect(instance("c3")).rejects.toThrow(/not found/i);
  });

  it("reports counts, states and the CPU/memory of running containers", async () => {
    const m = driver.metrics!(await driver.observe());
    expect(m["lxd.instance.owned"]).toBe(2);
    expect(m["lxd.instance.count"]).toBeGreaterThanOrEqual(4); // c1, c2, pet, stray (+ other tests' containers)
    expect(m[`lxd.instance.memory_bytes.${P}c2`]).toBeGreaterThan(0);
    expect(m[`lxd.instance.cpu_seconds.${P}c2`]).toBeGreaterThan(0);
    expect(m[`lxd.instance.memory_bytes.${P}c1`]).toBeUndefined(); // stopped
  });

  it("removing objects from the spec deletes Outpost's (instances first, the pool last) and nothing else; a profile someone else's container still uses waits for it", async () => {
    const empty = Spec.parse({});
    const steps = orderSteps(await pending(driver, empty));
    expect(steps.map((s) => s.id)).toEqual([
      `lxd/lxd.instance/${P}c1/delete`, `lxd/lxd.instance/${P}c2/delete`,
      `lxd/lxd.profile/${P}web/delete`, `lxd/lxd.network/${P}br0/delete`, `lxd/lxd.storage-pool/${P}pool/delete`,
    ]);
    await driver.apply(steps[0]!);
    await driver.apply(steps[1]!);
    // pet and stray (not Outpost's) were made with this profile: LXD refuses, and the error says who holds it.
    await expect(driver.apply(steps[2]!)).rejects.toThrow(`lxd.profile ${P}web is still used by instances/${P}pet, instances/${P}stray`);
    await expect(instance("c2")).rejects.toThrow(/not found/i);
    expect((await instance("pet")).name).toBe(`${P}pet`);

    // Once their owner removes them, the next pass finishes the job.
    for (const name of ["pet", "stray"]) await lxdOperation("DELETE", `/1.0/instances/${P}${name}`);
    expect((await convergeOnce(driver, empty)).map((s) => s.id)).toEqual([`lxd/lxd.profile/${P}web/delete`, `lxd/lxd.network/${P}br0/delete`, `lxd/lxd.storage-pool/${P}pool/delete`]);
    expect((await lxdGet<RawProfile>("/1.0/profiles/default")).devices).toMatchObject({ root: { type: "disk", path: "/" } });
    expect(await pending(driver, empty)).toEqual([]);
  });

  it("fails loudly, naming the socket, when LXD cannot be reached", async () => {
    const nowhere = createLxdDriver({ ...opts(), socketPath: join(dir, "no-lxd.socket") });
    await expect(nowhere.observe()).rejects.toThrow(`cannot reach LXD on ${join(dir, "no-lxd.socket")}`);
  });
});
