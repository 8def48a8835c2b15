import { randomBytes } from "node:crypto";
import { cp, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getSimObject, readAgentStatus } from "@outpost/agent";
import { importPrivate, newKeyPair, signKeysDocument, signRootDocument, type Artifact, type CreateReleaseRequest } from "@outpost/shared";
import { Fleet } from "../lib/fleet.ts";
import { storeRelease } from "../lib/releases.ts";
import { spawnOutpost, tempDir, waitFor } from "../lib/processes.ts";

/**
 * Air-gapped sites (MQTT/transports issue): the operator exports a site's signed bundle from the
 * hub to a directory, a technician imports it on a site with no network path to the hub, and
 * carries the site's signed reports file back. Real hub process, real agent state files, the
 * real `outpost` CLI for every step a person would take.
 */
interface Run { code: number | null; stdout: string; all: string }

describe("air-gapped site: bundle by file, reports by file", () => {
  const fleet = new Fleet();
  const site = "island-1";
  const work = tempDir("airgap");
  let artifact: Artifact;
  const dir = () => fleet.stateDir(site);

  /** Runs the CLI to completion, stdout kept apart from the logs so --json parses. */
  async function outpost(args: string[], opts: { operator?: boolean } = {}): Promise<Run> {
    const op = opts.operator ? ["--hub", fleet.url, "--token", fleet.adminToken] : [];
    const p = spawnOutpost(`outpost ${args[0]}`, [...op, ...args]);
    let stdout = "";
    p.child.stdout!.on("data", (d: string) => { stdout += d; });
    await waitFor(`outpost ${args.join(" ")} to exit`, () => !p.alive, 60_000, 50);
    return { code: p.child.exitCode, stdout, all: p.text() };
  }
  const json = <T = Record<string, unknown>>(r: Run): T => {
    if (r.code !== 0) throw new Error(`exit ${r.code}:\n${r.all}`);
    return JSON.parse(r.stdout) as T;
  };

  function release(version: string): CreateReleaseRequest {
    const r = storeRelease(version);
    r.spec.lxd!.instances![0]!.image = { artifact: "pos-image" };
    return { ...r, artifacts: [artifact] };
  }

  async function assignAndExport(version: string, out: string): Promise<void> {
    await fleet.op.createRelease(release(version));
    await fleet.op.assign({ name: "store", version }, `site=${site}`);
    json(await outpost(["--json", "bundle", "export", "--site", site, "--out", out], { operator: true }));
  }

  beforeAll(async () => {
    await fleet.startHub();
    // Enrolled and approved the ordinary way, over the network, then cut off for good.
    const { token } = await fleet.op.createToken({ uses: 1, autoApprove: true, labels: { site } });
    const agent = await fleet.startAgent(site, { token });
    await waitFor("site approved", async () => (await fleet.site(site)).status === "approved");
    await agent.kill();
    artifact = await fleet.op.uploadArtifact("pos-image", randomBytes(300_000));
    await assignAndExport("1.0", join(work, "v1"));
    await assignAndExport("1.1", join(work, "v2"));
  });
  afterAll(() => fleet.close());

  it("writes a complete export: manifest, signed bundle, trust documents, artifacts; no private keys", async () => {
    const manifest = JSON.parse(await readFile(join(work, "v2", "manifest.json"), "utf8"));
    expect(manifest).toMatchObject({ format: "outpost-airgap-export/v1", site, bundleVersion: 2 });
    expect(Object.keys(manifest.files).sort()).toEqual([`artifacts/${artifact.sha256}`, "bundle.jws", "trust.json"]);
    expect(manifest.files[`artifacts/${artifact.sha256}`]).toEqual({ sha256: artifact.sha256, size: artifact.size });
    const trust = await readFile(join(work, "v2", "trust.json"), "utf8");
    expect(trust).not.toMatch(/"d"\s*:/); // a private JWK's secret member
  });

  it("refuses a bundle.jws with a changed payload byte (BUNDLE_BAD_SIGNATURE) and applies nothing", async () => {
    const bad = join(work, "tampered-bundle");
    await cp(join(work, "v2"), bad, { recursive: true });
    const jws = await readFile(join(bad, "bundle.jws"), "utf8");
    const [h, p, s] = jws.split(".") as [string, string, string];
    const payload = JSON.parse(Buffer.from(p, "base64url").toString());
    payload.spec.lxd.instances[0].config["user.release"] = "evil";
    const forged = `${h}.${Buffer.from(JSON.stringify(payload)).toString("base64url")}.${s}`;
    await writeFile(join(bad, "bundle.jws"), forged);
    // The manifest is fixed up too: only the signature stands between the forger and the site.
    const manifest = JSON.parse(await readFile(join(bad, "manifest.json"), "utf8"));
    const { createHash } = await import("node:crypto");
    manifest.files["bundle.jws"] = { sha256: createHash("sha256").update(forged).digest("hex"), size: Buffer.byteLength(forged) };
    await writeFile(join(bad, "manifest.json"), JSON.stringify(manifest));

    const r = await outpost(["agent", "import", bad, "--state-dir", dir()]);
    expect(r.code).toBe(1);
    expect(r.all).toMatch(/BUNDLE_BAD_SIGNATURE/);
    const status = await readAgentStatus(dir());
    expect(status.bundleVersion).toBeNull();
    expect(await getSimObject(dir(), "lxd.instance", "pos-1")).toBeNull();
    expect(status.recentEvents.some((e) => e.type === "bundle-rejected" && e.code === "BUNDLE_BAD_SIGNATURE")).toBe(true);
  });

  it("refuses an export whose file does not match its manifest, naming the file", async () => {
    const bad = join(work, "damaged");
    await cp(join(work, "v2"), bad, { recursive: true });
    const file = join(bad, "artifacts", artifact.sha256);
    const bytes = await readFile(file);
    bytes[1000] = bytes[1000]! ^ 0xff;
    await writeFile(file, bytes);
    const r = await outpost(["agent", "import", bad, "--state-dir", dir()]);
    expect(r.code).toBe(1);
    expect(r.all).toMatch(new RegExp(`MANIFEST_MISMATCH.*artifacts/${artifact.sha256}|artifacts/${artifact.sha256}.*MANIFEST_MISMATCH`));
    expect((await readAgentStatus(dir())).bundleVersion).toBeNull();
  });

  it("refuses trust documents signed by someone else (a forged root rotation) and changes nothing", async () => {
    const bad = join(work, "forged-trust");
    await cp(join(work, "v2"), bad, { recursive: true });
    const trust = JSON.parse(await readFile(join(bad, "trust.json"), "utf8"));
    const evil = await newKeyPair();
    const key = { kid: evil.kid, privateKey: await importPrivate(evil.privateJwk) };
    trust.roots.push(await signRootDocument({ type: "outpost-root", version: 2, threshold: 1, keys: [{ kid: evil.kid, publicKey: evil.publicJwk }] }, [key]));
    trust.keys = await signKeysDocument({ type: "outpost-keys", version: 99, expiresAt: new Date(Date.now() + 86_400_000).toISOString(), keys: [{ kid: evil.kid, publicKey: evil.publicJwk, roles: ["bundle"] }] }, [key]);
    const text = JSON.stringify(trust);
    await writeFile(join(bad, "trust.json"), text);
    const manifest = JSON.parse(await readFile(join(bad, "manifest.json"), "utf8"));
    const { createHash } = await import("node:crypto");
    manifest.files["trust.json"] = { sha256: createHash("sha256").update(text).digest("hex"), size: Buffer.byteLength(text) };
    await writeFile(join(bad, "manifest.json"), JSON.stringify(manifest));

    const r = await outpost(["agent", "import", bad, "--state-dir", dir()]);
    expect(r.code).toBe(1);
    expect(r.all).toMatch(/ROOT_THRESHOLD/);
    expect((await readAgentStatus(dir())).bundleVersion).toBeNull();
  });

  it("imports on the site with no hub reachable: verified, artifacts cached, applied", async () => {
    const r = json<{ accepted: boolean; bundleVersion: number; artifacts: { copied: boolean }[]; reconcile: { ran: boolean; state: string } }>(
      await outpost(["--json", "agent", "import", join(work, "v2"), "--state-dir", dir()]));
    expect(r).toMatchObject({ accepted: true, bundleVersion: 2, reconcile: { ran: true, state: "in-sync" } });
    expect(r.artifacts).toEqual([expect.objectContaining({ copied: true })]);
    expect((await stat(join(dir(), "artifacts", artifact.sha256))).size).toBe(artifact.size);
    const pos = await getSimObject(dir(), "lxd.instance", "pos-1");
    expect(pos?.fields).toMatchObject({ state: "running" });

    const s = json<{ bundleVersion: number; state: string; release: unknown }>(await outpost(["--json", "agent", "status", "--state-dir", dir()]));
    expect(s).toMatchObject({ bundleVersion: 2, state: "in-sync", release: { name: "store", version: "1.1" } });
  });

  it("refuses the older export afterwards (BUNDLE_ROLLBACK) and keeps v2", async () => {
    const r = await outpost(["agent", "import", join(work, "v1"), "--state-dir", dir()]);
    expect(r.code).toBe(1);
    expect(r.all).toMatch(/BUNDLE_ROLLBACK/);
    expect((await readAgentStatus(dir())).bundleVersion).toBe(2);
  });

  it("re-importing the same export is harmless", async () => {
    const r = json<{ accepted: boolean; bundleVersion: number }>(await outpost(["--json", "agent", "import", join(work, "v2"), "--state-dir", dir()]));
    expect(r).toMatchObject({ accepted: false, bundleVersion: 2 });
  });

  it("carries the reports back: signed file ingested once even when imported twice", async () => {
    const file = join(work, "reports.json");
    const exported = json<{ count: number; pending: number }>(await outpost(["--json", "agent", "export-reports", "--state-dir", dir(), "--out", file]));
    expect(exported.count).toBeGreaterThan(0);
    expect(exported.pending).toBe(exported.count); // kept until the hub acks over the network

    const before = (await fleet.op.reports({ site, limit: 10_000 })).length;
    const first = json<{ total: number; stored: number; duplicates: number }>(await outpost(["--json", "reports", "import", file], { operator: true }));
    expect(first).toMatchObject({ total: exported.count, stored: exported.count, duplicates: 0 });
    const second = json<{ total: number; stored: number; duplicates: number }>(await outpost(["--json", "reports", "import", file], { operator: true }));
    expect(second).toMatchObject({ total: exported.count, stored: 0, duplicates: exported.count });

    const stored = await fleet.op.reports({ site, limit: 10_000 });
    expect(stored.length).toBe(before + exported.count);
    expect(new Set(stored.map((r) => r.id)).size).toBe(stored.length);
    const events = stored.filter((r) => r.kind === "event");
    expect(events.filter((e) => e.body.type === "bundle-received" && e.body.bundleVersion === 2)).toHaveLength(1);
    expect(events.filter((e) => e.body.type === "bundle-rejected").map((e) => e.body.code).sort()).toEqual(["BUNDLE_BAD_SIGNATURE", "BUNDLE_ROLLBACK"]);
    // The hub now knows what the site runs, from the file alone.
    expect(await fleet.site(site)).toMatchObject({ appliedVersion: 2, state: "in-sync" });
  });

  it("refuses a tampered reports file, naming the problem, and stores nothing", async () => {
    const file = join(work, "reports.json");
    const doc = JSON.parse(await readFile(file, "utf8"));
    const [h, p, s] = doc.jws.split(".");
    const payload = JSON.parse(Buffer.from(p, "base64url").toString());
    payload.reports[0].at = new Date(0).toISOString();
    doc.jws = `${h}.${Buffer.from(JSON.stringify(payload)).toString("base64url")}.${s}`;
    const bad = join(work, "reports-tampered.json");
    await writeFile(bad, JSON.stringify(doc));
    const before = (await fleet.op.reports({ site, limit: 10_000 })).length;
    const r = await outpost(["reports", "import", bad], { operator: true });
    expect(r.code).toBe(1);
    expect(r.all).toMatch(/REPORTS_FILE_BAD_SIGNATURE/);
    expect((await fleet.op.reports({ site, limit: 10_000 })).length).toBe(before);
  });
});
