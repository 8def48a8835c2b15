import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { pino } from "pino";
import { AgentClient, HubError, importPrivate, VerifyError, type Artifact } from "@outpost/shared";
import { startHub, type RunningHub } from "../../../hub/src/main.ts";
import { enrolledSite, startTestHub, type TestHub, type TestSite } from "../../../hub/src/test-support/harness.ts";
import { quietLogger, tempDir, waitFor } from "../testing/harness.ts";
import { createArtifactCache, type ArtifactCache } from "./cache.ts";
import { Relay } from "./test-relay.ts";

/**
 * The agent's artifact cache against a real hub (started in-process on a loopback port, real
 * libSQL file and artifact directory), through a recording relay that stands in for the uplink.
 */
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const image = randomBytes(4 * 1024 * 1024 + 321);
const sameSize = randomBytes(1024 * 1024); // its stored copy gets tampered with (same length)
const grows = randomBytes(1024 * 1024); // its stored copy gets bytes appended
const notInBundle = randomBytes(64 * 1024);

let t: TestHub;
let hub: RunningHub; // the current hub process on t.dir (replaced by the restart test)
let site: TestSite;
let relay: Relay;
let client: AgentClient;
const art: Record<"image" | "sameSize" | "grows" | "notInBundle", Artifact> = {} as never;

beforeAll(async () => {
  t = await startTestHub();
  hub = t.hub;
  site = await enrolledSite(t, "edge-1");
  art.image = await t.op.uploadArtifact("debian-12", image);
  art.sameSize = await t.op.uploadArtifact("tampered", sameSize);
  art.grows = await t.op.uploadArtifact("grows", grows);
  art.notInBundle = await t.op.uploadArtifact("elsewhere", notInBundle);
  await t.op.createRelease({ name: "store", version: "1", spec: {}, artifacts: [art.image, art.sameSize, art.grows] });
  await t.op.assign({ name: "store", version: "1" }, "");
  relay = await new Relay(() => hub.url).start();
  client = new AgentClient(relay.url, site.name, await importPrivate(site.key.privateJwk));
});
afterAll(async () => {
  await relay.close();
  await hub.close();
  await t.stop();
});

// A test that stops the hub and fails before starting it again must not take the others down too.
beforeEach(async () => {
  if (!(await fetch(`${hub.url}/healthz`).then((r) => r.ok, () => false))) hub = await startHub({ dataDir: t.dir, port: hub.port, logLevel: "silent" });
});
const cleanups: (() => void)[] = [];
afterEach(() => { for (const f of cleanups.splice(0)) f(); relay.seen.length = 0; });
function newCache(log = quietLogger): { cache: ArtifactCache; stateDir: string } {
  const { dir, cleanup } = tempDir("outpost-artifacts-");
  cleanups.push(cleanup);
  return { cache: createArtifactCache({ stateDir: dir, client, log }), stateDir: dir };
}
const filesIn = (dir: string) => (fs.existsSync(dir) ? fs.readdirSync(dir).sort() : []);
const partialSize = (cache: ArtifactCache, a: Artifact) => fs.statSync(path.join(cache.dir, `${a.sha256}.partial`), { throwIfNoEntry: false })?.size ?? -1;

describe("createArtifactCache", () => {
  it("downloads an artifact, verifies it and returns the local path; the next fetch needs no network", async () => {
    const { cache, stateDir } = newCache();
    const file = await cache.fetch(art.image);
    expect(file).toBe(path.join(stateDir, "artifacts", art.image.sha256));
    expect(path.isAbsolute(file)).toBe(true);
    expect(fs.readFileSync(file).equals(image)).toBe(true);
    expect(filesIn(cache.dir)).toEqual([art.image.sha256]);
    expect(relay.downloads()).toHaveLength(1);

    expect(await cache.fetch(art.image)).toBe(file);
    expect(relay.downloads()).toHaveLength(1);
  });

  it("shares one download between concurrent fetches of the same artifact", async () => {
    const { cache } = newCache();
    const files = await Promise.all([cache.fetch(art.image), cache.fetch(art.image), cache.fetch({ ...art.image, name: "alias" })]);
    expect(new Set(files).size).toBe(1);
    expect(relay.downloads()).toHaveLength(1);
    expect(fs.readFileSync(files[0]!).equals(image)).toBe(true);
  });

  it("one caller giving up does not stop a download another still waits for", async () => {
    const { cache } = newCache();
    relay.stallNextDownloadAfter(100_000);
    const quitter = new AbortController();
    const first = cache.fetch(art.image, quitter.signal);
    // Its outcome is taken at once: it fails while the test awaits hub.close(), and a rejection nobody
    // holds yet is an unhandled one.
    const second = cache.fetch(art.image).then(() => null, (e: unknown) => e);
    await waitFor("the stalled bytes on disk", () => partialSize(cache, art.image) === 100_000);
    quitter.abort();
    await expect(first).rejects.toMatchObject({ name: "AbortError" });
    // The relay keeps the link quiet, so the surviving caller needs the download to go on; cut it
    // (as a hub restart would) and check that it still waited on the same download rather than quitting.
    await hub.close();
    expect(await second).toMatchObject({ code: "DOWNLOAD_INTERRUPTED", transient: true });
    hub = await startHub({ dataDir: t.dir, port: hub.port, logLevel: "silent" });
    expect(fs.readFileSync(await cache.fetch(art.image)).equals(image)).toBe(true);
  });

  it("resumes after the caller aborted midway: the second request asks for the rest with Range", async () => {
    const { cache } = newCache();
    const n = 1_234_567;
    relay.stallNextDownloadAfter(n);
    const ac = new AbortController();
    const pending = cache.fetch(art.image, ac.signal);
    await waitFor("the first bytes on disk", () => partialSize(cache, art.image) === n);
    ac.abort();
    await expect(pending).rejects.toMatchObject({ name: "AbortError" });
    expect(filesIn(cache.dir)).toEqual([`${art.image.sha256}.partial`]);
    expect(partialSize(cache, art.image)).toBe(n);

    const file = await cache.fetch(art.image);
    expect(fs.readFileSync(file).equals(image)).toBe(true);
    expect(filesIn(cache.dir)).toEqual([art.image.sha256]);
    const [firstTry, resumed] = relay.downloads();
    expect(firstTry).toMatchObject({ range: null, status: 200 });
    expect(resumed).toMatchObject({ range: `bytes=${n}-`, status: 206, contentRange: `bytes ${n}-${image.length - 1}/${image.length}` });
  });

  it("resumes after the hub restarted mid-download (same data dir and port)", async () => {
    const { cache } = newCache();
    const n = 2_000_000;
    relay.stallNextDownloadAfter(n);
    const pending = cache.fetch(art.image).then(() => null, (e: unknown) => e); // settles during hub.close()
    await waitFor("the first bytes on disk", () => partialSize(cache, art.image) === n);
    await hub.close();
    const err = await pending;
    expect(err).toBeInstanceOf(HubError);
    expect(err).toMatchObject({ code: "DOWNLOAD_INTERRUPTED", transient: true });
    expect((err as Error).message).toContain(`${n} of ${image.length}`);

    hub = await startHub({ dataDir: t.dir, port: hub.port, logLevel: "silent" });
    const file = await cache.fetch(art.image);
    expect(fs.readFileSync(file).equals(image)).toBe(true);
    expect(relay.downloads().at(-1)).toMatchObject({ range: `bytes=${n}-`, status: 206 });
  });

  it("a hub serving other bytes than the bundle names: ARTIFACT_MISMATCH and nothing left behind", async () => {
    const stored = path.join(t.dir, "artifacts", art.sameSize.sha256);
    const bytes = fs.readFileSync(stored);
    bytes.writeUInt8(bytes.readUInt8(bytes.length >> 1) ^ 0xff, bytes.length >> 1);
    fs.writeFileSync(stored, bytes);
    const { cache } = newCache();
    const err = await cache.fetch(art.sameSize).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VerifyError);
    expect(err).toMatchObject({ code: "ARTIFACT_MISMATCH" });
    expect((err as Error).message).toContain(art.sameSize.name);
    expect(filesIn(cache.dir)).toEqual([]);
  });

  it("a hub serving more bytes than the bundle says: refused at the size, nothing left behind", async () => {
    fs.appendFileSync(path.join(t.dir, "artifacts", art.grows.sha256), randomBytes(512 * 1024));
    const { cache } = newCache();
    await expect(cache.fetch(art.grows)).rejects.toMatchObject({ code: "ARTIFACT_MISMATCH" });
    expect(filesIn(cache.dir)).toEqual([]);
  });

  it("an artifact none of the site's bundles names: the hub's 404, nothing left behind", async () => {
    const { cache } = newCache();
    await expect(cache.fetch(art.notInBundle)).rejects.toMatchObject({ status: 404, code: "ARTIFACT_NOT_FOUND" });
    expect(filesIn(cache.dir)).toEqual([]);
  });

  it("a partial file that is wrong from the start is caught by the digest and discarded", async () => {
    const { cache } = newCache();
    fs.mkdirSync(cache.dir, { recursive: true });
    const bad = Buffer.from(image.subarray(0, 500_000));
    bad.writeUInt8(bad.readUInt8(10) ^ 1, 10);
    fs.writeFileSync(path.join(cache.dir, `${art.image.sha256}.partial`), bad);
    await expect(cache.fetch(art.image)).rejects.toMatchObject({ code: "ARTIFACT_MISMATCH" });
    expect(relay.downloads().at(-1)).toMatchObject({ range: "bytes=500000-", status: 206 });
    expect(filesIn(cache.dir)).toEqual([]);
    // The retry starts from scratch and succeeds.
    expect(fs.readFileSync(await cache.fetch(art.image)).equals(image)).toBe(true);
  });

  it("a partial file longer than the artifact is dropped and the download starts from byte 0", async () => {
    const { cache } = newCache();
    fs.mkdirSync(cache.dir, { recursive: true });
    fs.writeFileSync(path.join(cache.dir, `${art.image.sha256}.partial`), randomBytes(image.length + 10));
    expect(fs.readFileSync(await cache.fetch(art.image)).equals(image)).toBe(true);
    expect(relay.downloads()).toMatchObject([{ range: null, status: 200 }]);
  });

  it("logs progress at info about every 10%", async () => {
    const lines: { msg: string; percent?: number; level: number }[] = [];
    const log = pino({ level: "info" }, { write: (s: string) => { lines.push(JSON.parse(s)); } });
    const { cache } = newCache(log);
    await cache.fetch(art.image);
    const progress = lines.filter((l) => l.msg === "artifact download progress").map((l) => l.percent);
    expect(progress).toEqual([10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
    expect(lines.map((l) => l.msg)).toContain("artifact downloaded and verified");
    expect(lines.every((l) => l.level === 30)).toBe(true);
  });

  it("prune deletes verified files and stale partials no bundle references, never what is kept or downloading", async () => {
    const { cache } = newCache();
    await cache.fetch(art.image);
    const stale = "d".repeat(64);
    fs.writeFileSync(path.join(cache.dir, `${stale}.partial`), "half");
    fs.writeFileSync(path.join(cache.dir, "notes.txt"), "not ours");

    relay.stallNextDownloadAfter(10_000);
    const ac = new AbortController();
    const downloading = cache.fetch(art.grows, ac.signal).catch(() => {});
    await waitFor("a running download", () => partialSize(cache, art.grows) === 10_000);

    expect(await cache.prune([art.image.sha256])).toEqual([`${stale}.partial`]);
    expect(filesIn(cache.dir)).toEqual([art.image.sha256, `${art.grows.sha256}.partial`, "notes.txt"].sort());
    ac.abort();
    await downloading;
    expect(await cache.prune([])).toEqual([art.image.sha256, `${art.grows.sha256}.partial`].sort());
    expect(filesIn(cache.dir)).toEqual(["notes.txt"]);
  });
});
