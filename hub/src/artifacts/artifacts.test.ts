import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HubError, OperatorClient, signAgentJwt, type Artifact } from "@outpost/shared";
import { startHub } from "../main.ts";
import { enrolledSite, raw, snapshotDb, startTestHub, type TestHub, type TestSite } from "../test-support/harness.ts";

/**
 * Artifacts over real HTTP against a real hub (libSQL file, artifact directory in its data dir):
 * operators upload, agents download what their own bundles name, with Range.
 */
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const image = randomBytes(3 * 1024 * 1024 + 123); // in a release assigned to site-a only
const stray = randomBytes(1024 * 1024 + 7); // stored on the hub, in no release at all

let t: TestHub;
let a: TestSite;
let b: TestSite;
let uploaded: Artifact;
let strayArtifact: Artifact;
beforeAll(async () => {
  t = await startTestHub();
  a = await enrolledSite(t, "site-a", { labels: { tier: "a" } });
  b = await enrolledSite(t, "site-b", { labels: { tier: "b" } });
  uploaded = await t.op.uploadArtifact("debian-12", image);
  strayArtifact = await t.op.uploadArtifact("stray", stray);
  await t.op.createRelease({ name: "store", version: "1", spec: {}, artifacts: [uploaded] });
  await t.op.createRelease({ name: "other", version: "1", spec: {} });
  await t.op.assign({ name: "store", version: "1" }, "tier=a");
  await t.op.assign({ name: "other", version: "1" }, "tier=b");
});
afterAll(async () => { await t.stop(); });

const artifactsDir = () => path.join(t.dir, "artifacts");
/** Every file under the artifact directory (including half-written uploads), with sizes. */
const diskState = () => fs.readdirSync(artifactsDir(), { recursive: true, withFileTypes: true })
  .filter((d) => d.isFile()).map((d) => `${path.relative(artifactsDir(), path.join(d.parentPath, d.name))}:${fs.statSync(path.join(d.parentPath, d.name)).size}`).sort();
const download = async (site: TestSite, digest: string, headers: Record<string, string> = {}) =>
  raw(`${t.hub.url}/agent/v1/artifacts/${digest}`, await signAgentJwt(site.name, site.key.privateJwk), { headers });
const upload = (query: string, body: BodyInit | null, headers: Record<string, string> = {}, token: string | null = t.hub.adminToken) =>
  raw(`${t.hub.url}/api/v1/artifacts${query}`, token, { method: "POST", body, headers: { "content-type": "application/octet-stream", ...headers } });

describe("uploading artifacts", () => {
  it("answers the exact artifacts[] entry of a release, and stores the bytes under their digest", async () => {
    expect(uploaded).toEqual({ name: "debian-12", sha256: sha(image), size: image.length, url: `/agent/v1/artifacts/${sha(image)}` });
    expect(fs.readFileSync(path.join(artifactsDir(), sha(image))).equals(image)).toBe(true);
  });

  it("is idempotent: the same bytes again are kept once (200), a second name is remembered", async () => {
    const before = diskState();
    const again = await upload("?name=debian-12", image);
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual(uploaded);
    expect(diskState()).toEqual(before);
    expect(await t.op.uploadArtifact("debian-bookworm", image)).toEqual({ ...uploaded, name: "debian-bookworm" });
    const listed = await t.op.listArtifacts();
    expect(listed.find((x) => x.sha256 === uploaded.sha256)).toMatchObject({ size: image.length, url: uploaded.url, names: ["debian-12", "debian-bookworm"] });
    expect(listed.map((x) => x.sha256).sort()).toEqual([uploaded.sha256, strayArtifact.sha256].sort());
  });

  it("streams a body sent without a length (chunked), and checks expectedSha256", async () => {
    const bytes = randomBytes(2 * 1024 * 1024);
    const chunks = async function* () { for (let i = 0; i < bytes.length; i += 64 * 1024) yield bytes.subarray(i, i + 64 * 1024); };
    const got = await t.op.uploadArtifact("chunked", chunks(), undefined, { expectedSha256: sha(bytes) });
    expect(got).toMatchObject({ sha256: sha(bytes), size: bytes.length });
  });

  it("refuses bytes that are not the expectedSha256 and keeps nothing of them", async () => {
    const before = { db: await snapshotDb(t.hub.db), disk: diskState() };
    const bytes = randomBytes(1024 * 1024);
    const err = await t.op.uploadArtifact("wrong", bytes, undefined, { expectedSha256: "0".repeat(64) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HubError);
    expect(err).toMatchObject({ status: 400, code: "DIGEST_MISMATCH" });
    expect((err as Error).message).toContain(sha(bytes));
    expect({ db: await snapshotDb(t.hub.db), disk: diskState() }).toEqual(before);
  });

  const bad: { name: string; query: string; body?: BodyInit | null; headers?: Record<string, string>; token?: string | null; status: number; code: string; issue?: string }[] = [
    { name: "no name", query: "", status: 400, code: "VALIDATION", issue: "name" },
    { name: "a name with a slash", query: "?name=../etc", status: 400, code: "VALIDATION", issue: "name" },
    { name: "a name with a space", query: "?name=debian%2012", status: 400, code: "VALIDATION", issue: "name" },
    { name: "expectedSha256 not hex", query: "?name=x&expectedSha256=xyz", status: 400, code: "VALIDATION", issue: "expectedSha256" },
    { name: "an unknown parameter", query: "?name=x&sha=abc", status: 400, code: "VALIDATION", issue: "sha" },
    { name: "an empty body", query: "?name=x", body: null, status: 400, code: "ARTIFACT_EMPTY" },
    { name: "a JSON body", query: "?name=x", headers: { "content-type": "application/json" }, body: "{}", status: 415, code: "UNSUPPORTED_MEDIA_TYPE" },
    { name: "no API token", query: "?name=x", token: null, status: 401, code: "AUTH_MISSING" },
  ];
  it.each(bad)("$name -> $status $code; database and artifact directory unchanged", async (c) => {
    const before = { db: await snapshotDb(t.hub.db), disk: diskState() };
    const res = await upload(c.query, c.body === undefined ? randomBytes(256 * 1024) : c.body, c.headers, c.token === undefined ? t.hub.adminToken : c.token);
    const body = (await res.json()) as { error: { code: string; message: string; issues?: { path: string }[] } };
    expect({ status: res.status, code: body.error.code }).toEqual({ status: c.status, code: c.code });
    if (c.issue) {
      expect(body.error.issues?.map((i) => i.path)).toContain(c.issue);
      expect(body.error.message).toContain(c.issue);
    }
    expect({ db: await snapshotDb(t.hub.db), disk: diskState() }).toEqual(before);
  });

  it("refuses an upload over the configured limit, declared or streamed, and keeps nothing", async () => {
    const small = await startTestHub({ artifactMaxBytes: 1024 * 1024 });
    try {
      const dir = path.join(small.dir, "artifacts");
      const declared = await small.op.uploadArtifact("big", randomBytes(1024 * 1024 + 1)).catch((e: unknown) => e);
      expect(declared).toMatchObject({ status: 413, code: "ARTIFACT_TOO_LARGE" });
      const big = randomBytes(3 * 1024 * 1024);
      const streamed = await small.op.uploadArtifact("big", (async function* () { for (let i = 0; i < big.length; i += 65536) yield big.subarray(i, i + 65536); })())
        .catch((e: unknown) => e);
      // The hub answers 413 as soon as the limit is crossed; a client still sending may see the
      // connection close instead. Either way nothing may be kept.
      expect(streamed).toBeInstanceOf(HubError);
      if ((streamed as HubError).status !== 0) expect(streamed).toMatchObject({ status: 413, code: "ARTIFACT_TOO_LARGE" });
      expect(fs.readdirSync(dir, { recursive: true })).toEqual([".incoming"]);
      expect(await small.op.uploadArtifact("fits", randomBytes(1024 * 1024))).toMatchObject({ size: 1024 * 1024 });
    } finally {
      await small.stop();
    }
  });
});

describe("the artifact directory across restarts", () => {
  it("keeps stored artifacts and drops uploads a crash left half-written, but not one still being written", async () => {
    const hub = await startTestHub();
    const stored = await hub.op.uploadArtifact("kept", randomBytes(4096));
    const incoming = path.join(hub.dir, "artifacts", ".incoming");
    fs.writeFileSync(path.join(incoming, "abandoned"), randomBytes(100));
    const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
    fs.utimesSync(path.join(incoming, "abandoned"), twoHoursAgo, twoHoursAgo);
    fs.writeFileSync(path.join(incoming, "in-progress"), randomBytes(100));
    await hub.hub.close();
    const again = await startHub({ dataDir: hub.dir, port: 0, logLevel: "silent" });
    try {
      expect(fs.readdirSync(incoming)).toEqual(["in-progress"]);
      expect((await new OperatorClient(again.url, hub.hub.adminToken!).listArtifacts()).map((x) => x.sha256)).toEqual([stored.sha256]);
    } finally {
      await again.close();
      await hub.stop();
    }
  });
});

describe("GET /agent/v1/artifacts/:sha256", () => {
  it("streams the whole artifact with its length, digest ETag and Range support", async () => {
    const res = await download(a, uploaded.sha256);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-length")).toBe(String(image.length));
    expect(res.headers.get("etag")).toBe(`"${uploaded.sha256}"`);
    expect(res.headers.get("accept-ranges")).toBe("bytes");
    expect(res.headers.get("content-type")).toBe("application/octet-stream");
    expect(Buffer.from(await res.arrayBuffer()).equals(image)).toBe(true);
  });

  it("answers Range requests with 206 and exactly the asked bytes", async () => {
    const n = image.length;
    const cases: [string, number, number][] = [
      [`bytes=1000000-`, 1_000_000, n - 1],
      [`bytes=5-17`, 5, 17],
      [`bytes=${n - 1}-`, n - 1, n - 1],
      [`bytes=100-${n + 5000}`, 100, n - 1],
      [`bytes=-4096`, n - 4096, n - 1],
    ];
    for (const [range, start, end] of cases) {
      const res = await download(a, uploaded.sha256, { range });
      expect(res.status, range).toBe(206);
      expect(res.headers.get("content-range"), range).toBe(`bytes ${start}-${end}/${n}`);
      expect(res.headers.get("content-length"), range).toBe(String(end - start + 1));
      expect(Buffer.from(await res.arrayBuffer()).equals(image.subarray(start, end + 1)), range).toBe(true);
    }
    // The agent client's own resume call.
    const resumed = await a.client.artifact(uploaded.sha256, 2_000_000);
    expect(resumed.status).toBe(206);
    expect(Buffer.from(await resumed.arrayBuffer()).equals(image.subarray(2_000_000))).toBe(true);
  });

  it("416 for a range past the end, naming the size; an unparseable Range gets the whole artifact", async () => {
    const past = await download(a, uploaded.sha256, { range: `bytes=${image.length}-` });
    expect(past.status).toBe(416);
    expect(past.headers.get("content-range")).toBe(`bytes */${image.length}`);
    const body = (await past.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("RANGE_NOT_SATISFIABLE");
    expect(body.error.message).toContain(String(image.length));
    const multi = await download(a, uploaded.sha256, { range: "bytes=0-1,5-9" });
    expect(multi.status).toBe(200);
    expect(Buffer.from(await multi.arrayBuffer()).equals(image)).toBe(true);
  });

  it("404 for an artifact stored on the hub that none of the site's bundles names, same as one that does not exist", async () => {
    const stored = await download(a, strayArtifact.sha256);
    const absent = await download(a, "e".repeat(64));
    expect([stored.status, absent.status]).toEqual([404, 404]);
    const [s, x] = (await Promise.all([stored.json(), absent.json()])) as { error: { code: string; message: string } }[];
    expect(s!.error.code).toBe("ARTIFACT_NOT_FOUND");
    // Nothing in the answer tells a stored digest from an unknown one.
    expect(s!.error.message.replace(strayArtifact.sha256, "<sha>")).toBe(x!.error.message.replace("e".repeat(64), "<sha>"));
    expect([...stored.headers.keys()].filter((k) => k !== "x-request-id" && k !== "date").sort())
      .toEqual([...absent.headers.keys()].filter((k) => k !== "x-request-id" && k !== "date").sort());
  });

  it("another site cannot fetch site A's artifact", async () => {
    const res = await download(b, uploaded.sha256);
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("ARTIFACT_NOT_FOUND");
    await expect(b.client.artifact(uploaded.sha256)).rejects.toMatchObject({ status: 404, code: "ARTIFACT_NOT_FOUND" });
  });

  it("a bad digest is a 400 naming the parameter; no request token is a 401", async () => {
    for (const digest of ["not-a-digest", "A".repeat(64), "a".repeat(63), "..%2F..%2Fhub.db"]) {
      const res = await download(a, digest);
      const body = (await res.json()) as { error: { code: string; issues?: { path: string }[] } };
      expect({ digest, status: res.status, code: body.error.code }).toEqual({ digest, status: 400, code: "VALIDATION" });
      expect(body.error.issues?.map((i) => i.path)).toEqual(["sha256"]);
    }
    expect((await raw(`${t.hub.url}/agent/v1/artifacts/${uploaded.sha256}`, null)).status).toBe(401);
  });
});
