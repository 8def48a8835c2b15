/**
 * The agent's sync + trust + reconcile + report wiring, end to end inside one process: a real
 * agent (startAgent) with a real libSQL state file, against the test fixture hub (real HTTP, real
 * Ed25519 signatures made here with shared's signing functions). The real hub has its own tests.
 */
import { afterEach, describe, expect, it } from "vitest";
import { base64url } from "jose";
import type { EventBody, ReportItem, SpecInput } from "@outpost/shared";
import type { AgentConfigInput } from "./config.ts";
import { startAgent, type RunningAgent } from "./main.ts";
import { readAgentStatus } from "./status.ts";
import { openStore } from "./store/db.ts";
import { deleteSimObject, listSimObjects, setSimFaults, setSimField, simSummary, stopSimInstance } from "./drivers/sim/world.ts";
import { FixtureHub } from "./testing/fixture-hub.ts";
import { fastConfig, quietLogger, tempDir, waitFor } from "./testing/harness.ts";

const SITE = "edge-1";
const SPEC: SpecInput = {
  ceph: { pools: [{ name: "rbd", size: 3 }], rbdImages: [{ pool: "rbd", name: "vol1", sizeMiB: 1024 }] },
  ovn: { switches: [{ name: "ls-web", subnet: "10.0.0.0/24", ports: [{ name: "web1-eth0", addresses: ["dynamic"] }] }] },
  lxd: {
    storagePools: [{ name: "default", driver: "dir" }],
    profiles: [{ name: "web", config: { "limits.cpu": "2" } }],
    instances: [
      { name: "web1", image: { alias: "debian-12" }, profiles: ["default", "web"] },
      { name: "web2", image: { alias: "debian-12" }, profiles: ["default", "web"] },
    ],
  },
  host: { packages: [{ name: "lxd", version: "5.21" }] },
};

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => { while (cleanups.length) await cleanups.pop()!(); });

async function setup(o: { autoApprove?: boolean; agent?: Partial<AgentConfigInput> } = {}) {
  const hub = await FixtureHub.create();
  hub.autoApprove = o.autoApprove ?? true;
  const t = tempDir();
  cleanups.push(t.cleanup, () => hub.stop());
  const config = fastConfig({ hubUrl: hub.url, stateDir: t.dir, site: SITE, enrollToken: hub.token, ...o.agent });
  let agent: RunningAgent | null = null;
  const start = async () => {
    agent = await startAgent(config, { logger: quietLogger });
    cleanups.push(() => agent?.stop());
    return agent;
  };
  return { hub, stateDir: t.dir, config, start, stop: () => agent!.stop() };
}

/** The `details` of an event report, typed as the test expects it. */
const details = <T,>(r: ReportItem | undefined) => (r?.body as EventBody | undefined)?.details as T;
const eventCodes = (hub: FixtureHub, type: string) => hub.eventsOf(type).map((e) => (e.body as { code?: string }).code);

async function outbox(stateDir: string): Promise<{ id: string; kind: string; type?: string }[]> {
  const s = await openStore(stateDir, { create: false });
  try {
    const rs = await s.db.execute("SELECT id, kind, body FROM outbox ORDER BY id");
    return rs.rows.map((r) => ({ id: String(r.id), kind: String(r.kind), type: (JSON.parse(String(r.body)) as { type?: string }).type }));
  } finally { s.close(); }
}

async function bundleVersions(stateDir: string): Promise<number[]> {
  const s = await openStore(stateDir, { create: false });
  try { return (await s.db.execute("SELECT version FROM bundles ORDER BY version")).rows.map((r) => Number(r.version)); } finally { s.close(); }
}

async function converged(hub: FixtureHub, stateDir: string, version: number) {
  await waitFor(`applied v${version}`, () => hub.eventsOf("applied").some((e) => (e.body as { bundleVersion?: number }).bundleVersion === version));
  return simSummary(stateDir);
}

describe("agent against a fixture hub", () => {
  it("enrolls, accepts a good bundle and converges the simulated site", async () => {
    const { hub, stateDir, start } = await setup();
    await start();
    expect(hub.sites.get(SITE)?.status).toBe("approved");
    hub.publish(await hub.sign({ site: SITE, version: 1, spec: SPEC }), 1);

    expect(await converged(hub, stateDir, 1)).toEqual({
      "ceph.pool": 1, "ceph.rbd-image": 1, "ovn.switch": 1, "ovn.switch-port": 1,
      "lxd.storage-pool": 1, "lxd.profile": 1, "lxd.instance": 2, "host.package": 1,
    });
    const applied = hub.eventsOf("applied")[0]!.body as { details?: { steps?: number }; bundleVersion?: number };
    expect(applied.details?.steps).toBe(9);
    expect(hub.eventsOf("enrolled")).toHaveLength(1);
    expect(hub.eventsOf("bundle-received")).toHaveLength(1);

    await waitFor("an in-sync status report", () => [...hub.stored.values()].some((r) => r.kind === "status" && r.body.state === "in-sync" && r.body.bundleVersion === 1));
    const tele = [...hub.stored.values()].filter((r) => r.kind === "telemetry").at(-1);
    expect(tele?.kind === "telemetry" && tele.body.metrics["process.rss_bytes"]).toBeGreaterThan(0);

    const st = await readAgentStatus(stateDir);
    expect(st).toMatchObject({ site: SITE, hubUrl: hub.url, enrolled: true, bundleVersion: 1, release: { name: "base", version: "r1" }, state: "in-sync", stale: false });
    expect(st.recentEvents.map((e) => e.type)).toContain("applied");
  });

  it("refuses tampered, old, expired and other sites' bundles: right code, nothing applied, one report each", async () => {
    const { hub, stateDir, start } = await setup();
    await start();
    hub.publish(await hub.sign({ site: SITE, version: 1, spec: SPEC }), 1);
    const before = await converged(hub, stateDir, 1);
    const worldBefore = await listSimObjects(stateDir);

    const bigger: SpecInput = { ...SPEC, lxd: { ...SPEC.lxd, instances: [...SPEC.lxd!.instances!, { name: "evil", image: { alias: "x" } }] } };
    const good2 = await hub.sign({ site: SITE, version: 2, spec: SPEC });
    const [h, , sig] = good2.split(".");
    const forged = JSON.parse(new TextDecoder().decode(base64url.decode(good2.split(".")[1]!)));
    forged.spec = (await import("@outpost/shared")).Spec.parse(bigger);
    const tampered = `${h}.${base64url.encode(JSON.stringify(forged))}.${sig}`;

    const cases: [string, string, number][] = [
      ["BUNDLE_BAD_SIGNATURE", tampered, 2],
      ["BUNDLE_ROLLBACK", await hub.sign({ site: SITE, version: 1, spec: bigger }), 1],
      ["BUNDLE_EXPIRED", await hub.sign({ site: SITE, version: 3, spec: bigger, expiresAt: new Date(Date.now() - 1000).toISOString() }), 3],
      ["BUNDLE_WRONG_SITE", await hub.sign({ site: "edge-2", version: 4, spec: bigger }), 4],
    ];
    for (const [code, jws, version] of cases) {
      hub.publish(jws, version, true);
      await waitFor(`bundle-rejected ${code}`, () => eventCodes(hub, "bundle-rejected").includes(code));
      // let the agent poll the same bad bundle a few more times (backoff is capped at 300 ms here)
      const polls = hub.requests.filter((r) => r.path.startsWith("/agent/v1/bundle")).length;
      await waitFor("more polls", () => hub.requests.filter((r) => r.path.startsWith("/agent/v1/bundle")).length >= polls + 3);
    }
    await new Promise((r) => setTimeout(r, 300)); // any straggling report
    expect(eventCodes(hub, "bundle-rejected").sort()).toEqual(cases.map((c) => c[0]).sort());
    const rejected = hub.eventsOf("bundle-rejected").map((e) => e.body as { bundleVersion?: number; severity: string });
    expect(rejected.every((b) => b.severity === "error")).toBe(true);
    expect(rejected.map((b) => b.bundleVersion).sort()).toEqual([1, 2, 3, 4]);

    expect(await simSummary(stateDir)).toEqual(before);
    expect(await listSimObjects(stateDir)).toEqual(worldBefore);
    expect(await bundleVersions(stateDir)).toEqual([1]);
    expect(hub.eventsOf("applied")).toHaveLength(1);
    expect((await readAgentStatus(stateDir)).bundleVersion).toBe(1);

    // and a good v2 still goes through afterwards
    hub.publish(await hub.sign({ site: SITE, version: 5, spec: { ...SPEC, host: { packages: [{ name: "lxd", version: "6.0" }] } } }), 5);
    await converged(hub, stateDir, 5);
    expect((await listSimObjects(stateDir, "host.package"))[0]!.fields.version).toBe("6.0");
  });

  it("follows a bundle key rotation: refreshes the keys document once, accepts, reports keys-updated", async () => {
    const { hub, stateDir, start } = await setup();
    await start();
    hub.publish(await hub.sign({ site: SITE, version: 1, spec: SPEC }), 1);
    await converged(hub, stateDir, 1);
    await hub.rotateBundleKey();
    hub.publish(await hub.sign({ site: SITE, version: 2, spec: { ...SPEC, host: {} } }), 2);
    await converged(hub, stateDir, 2);
    expect(hub.eventsOf("keys-updated")).toHaveLength(1);
    expect(hub.eventsOf("bundle-rejected")).toHaveLength(0);
    expect(await listSimObjects(stateDir, "host.package")).toEqual([]);
  });

  it("waits while the operator has not approved the site, then converges", async () => {
    const { hub, stateDir, start } = await setup({ autoApprove: false });
    await start();
    hub.publish(await hub.sign({ site: SITE, version: 1, spec: SPEC }), 1);
    await waitFor("a few refused polls", () => hub.requests.filter((r) => r.status === 403).length >= 3);
    const st = await readAgentStatus(stateDir);
    expect(st).toMatchObject({ enrolled: true, enrollment: "pending", bundleVersion: null, state: "pending" });
    expect(st.pendingReports).toBeGreaterThan(0); // the enrolled event waits in the outbox
    hub.sites.get(SITE)!.status = "approved";
    await converged(hub, stateDir, 1);
    expect(hub.eventsOf("enrolled")).toHaveLength(1);
  });

  it("with the hub down: keeps healing drift, queues the events, delivers each exactly once on return", async () => {
    const { hub, stateDir, start } = await setup();
    await start();
    hub.publish(await hub.sign({ site: SITE, version: 1, spec: SPEC }), 1);
    await converged(hub, stateDir, 1);
    await waitFor("outbox drained", async () => (await outbox(stateDir)).every((r) => r.kind !== "event"));

    await hub.stop();
    await stopSimInstance(stateDir, "web1");
    await deleteSimObject(stateDir, "lxd.instance", "web2");
    await setSimField(stateDir, "ceph.pool", "rbd", "size", 1);

    await waitFor("drift healed offline", async () => {
      const inst = await listSimObjects(stateDir, "lxd.instance");
      const pool = await listSimObjects(stateDir, "ceph.pool");
      return inst.length === 2 && inst.every((i) => i.fields.state === "running") && pool[0]?.fields.size === 3;
    });
    const queued = await waitFor("3 drift-healed events queued", async () => {
      const q = (await outbox(stateDir)).filter((r) => r.type === "drift-healed");
      return q.length === 3 ? q : null;
    });
    const st = await readAgentStatus(stateDir);
    expect(st.pendingReports).toBeGreaterThanOrEqual(3);
    expect(st.recentEvents.filter((e) => e.type === "drift-healed")).toHaveLength(3);
    expect(st.state).toBe("in-sync");

    const healed = queued.map((q) => q.id);
    await hub.start();
    await waitFor("drift-healed events delivered", () => healed.every((id) => hub.stored.has(id)));
    await waitFor("outbox drained of events", async () => (await outbox(stateDir)).every((r) => r.kind !== "event"));
    for (const id of healed) expect(hub.receipts.get(id)).toBe(1);
    const healedDetails = healed.map((id) => details<{ kind: string; name: string; action: string }>(hub.stored.get(id)));
    expect(healedDetails.map((d) => `${d.action} ${d.kind} ${d.name}`).sort()).toEqual([
      "create lxd.instance web2", "start lxd.instance web1", "update ceph.pool rbd",
    ]);
    const upd = details<{ before: { size: number }; after: { size: number } }>(hub.stored.get(healed[healedDetails.findIndex((d) => d.kind === "ceph.pool")]!));
    expect([upd.before.size, upd.after.size]).toEqual([1, 3]);
    // events from before the outage are not duplicated in storage either
    expect(hub.eventsOf("applied")).toHaveLength(1);
  });

  it("quarantines a step that keeps failing, applies the independent rest, recovers when the fault clears", async () => {
    const { hub, stateDir, start } = await setup({ agent: { stepMaxAttempts: 2 } });
    await start();
    await setSimFaults(stateDir, ["web2"]);
    hub.publish(await hub.sign({ site: SITE, version: 1, spec: SPEC }), 1);

    await waitFor("apply-failed", () => hub.eventsOf("apply-failed").length === 1);
    expect(hub.eventsOf("step-quarantined").map((e) => details<{ step: string }>(e).step)).toContain("lxd/lxd.instance/web2/create");
    expect((await listSimObjects(stateDir, "lxd.instance")).map((r) => r.name)).toEqual(["web1"]);
    expect(await simSummary(stateDir)).toMatchObject({ "ceph.pool": 1, "host.package": 1 });
    const st = await readAgentStatus(stateDir);
    expect(st.state).toBe("failed");
    expect(st.pendingSteps).toBe(1);

    // Quarantine backs off (0.5 s, then 1 s, capped at 2 s here): attempts stay few, never a hot loop.
    await new Promise((r) => setTimeout(r, 2500));
    const s = await openStore(stateDir, { create: false });
    const attempts = Number((await s.db.execute("SELECT COUNT(*) AS n FROM journal WHERE type = 'step-started' AND detail LIKE '%web2/create%'")).rows[0]!.n);
    s.close();
    expect(attempts).toBeGreaterThanOrEqual(4);
    expect(attempts).toBeLessThanOrEqual(12);
    expect(hub.eventsOf("apply-failed")).toHaveLength(1); // once per bundle version

    await setSimFaults(stateDir, []);
    await converged(hub, stateDir, 1);
    expect((await listSimObjects(stateDir, "lxd.instance")).map((r) => r.name)).toEqual(["web1", "web2"]);
    await waitFor("in-sync", async () => (await readAgentStatus(stateDir)).state === "in-sync");
  });

  it("keeps enforcing an expired last-good bundle: reports stale once, still heals", async () => {
    const { hub, stateDir, start } = await setup();
    await start();
    hub.publish(await hub.sign({ site: SITE, version: 1, spec: SPEC, expiresAt: new Date(Date.now() + 1500).toISOString() }), 1);
    await converged(hub, stateDir, 1);
    await waitFor("stale event", () => hub.eventsOf("stale").length === 1, 10_000);
    await deleteSimObject(stateDir, "lxd.instance", "web1");
    await waitFor("healed while stale", async () => (await listSimObjects(stateDir, "lxd.instance")).length === 2);
    await waitFor("stale status report", () => [...hub.stored.values()].some((r) => r.kind === "status" && r.body.stale));
    expect(hub.eventsOf("stale")).toHaveLength(1);
    expect((await readAgentStatus(stateDir)).stale).toBe(true);
  });

  it("holds disruptive steps until a maintenance window is open, applying the rest meanwhile", async () => {
    const { hub, stateDir, start } = await setup();
    await start();
    const hourNow = new Date().getUTCHours();
    const closed = [{ cron: `0 ${(hourNow + 12) % 24} * * *`, durationMinutes: 30, timezone: "UTC" }];
    const host = { packages: [{ name: "linux-image-amd64", version: "6.12", disruptive: true }, { name: "jq", version: "1.7" }] };
    hub.publish(await hub.sign({ site: SITE, version: 1, spec: { ...SPEC, host, agent: { maintenanceWindows: closed } } }), 1);
    await waitFor("non-disruptive steps applied", async () => (await listSimObjects(stateDir, "host.package")).length === 1);
    const st = await waitFor("status says why", async () => { const x = await readAgentStatus(stateDir); return x.state === "applying" && x.pendingSteps === 1 ? x : null; });
    expect(st.message).toMatch(/1 disruptive steps wait for a maintenance window/);
    expect((await listSimObjects(stateDir, "host.package")).map((r) => r.name)).toEqual(["jq"]);
    expect(await simSummary(stateDir)).toMatchObject({ "lxd.instance": 2 });
    await new Promise((r) => setTimeout(r, 700)); // a couple of heal ticks: still held, no failure reported
    expect(hub.eventsOf("apply-failed")).toHaveLength(0);
    expect(hub.eventsOf("applied")).toHaveLength(0);

    const open = [{ cron: "* * * * *", durationMinutes: 1, timezone: "UTC" }];
    hub.publish(await hub.sign({ site: SITE, version: 2, spec: { ...SPEC, host, agent: { maintenanceWindows: open } } }), 2);
    await converged(hub, stateDir, 2);
    expect((await listSimObjects(stateDir, "host.package")).map((r) => r.name)).toEqual(["jq", "linux-image-amd64"]);
  });

  it("fails loudly on a bad enrollment token, and starts anyway when the hub is merely down", async () => {
    const { hub, config } = await setup();
    await expect(startAgent({ ...config, enrollToken: hub.token.replace(/\.[^.]+$/, ".wrong-secret-0123456789") }, { logger: quietLogger }))
      .rejects.toThrow(/refused the enrollment/);

    const t = tempDir(); cleanups.push(t.cleanup);
    await hub.stop();
    const agent = await startAgent({ ...config, stateDir: t.dir }, { logger: quietLogger });
    cleanups.push(() => agent.stop());
    expect((await readAgentStatus(t.dir)).enrolled).toBe(false);
    await hub.start();
    await waitFor("enrolled once the hub is back", async () => (await readAgentStatus(t.dir)).enrolled);
  });
});
