import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "./config.ts";
import { tempDir } from "./testing/harness.ts";

const base = { OUTPOST_HUB_URL: "https://hub.example:8443", OUTPOST_SITE: "edge-1" };
const cleanups: (() => void)[] = [];
afterEach(() => { while (cleanups.length) cleanups.pop()!(); });

function errorOf(fn: () => unknown): ConfigError {
  try { fn(); } catch (e) { if (e instanceof ConfigError) return e; throw e; }
  throw new Error("expected a ConfigError");
}

describe("loadConfig", () => {
  it("fills defaults", () => {
    const c = loadConfig({ env: base });
    expect(c).toMatchObject({
      hubUrl: "https://hub.example:8443", site: "edge-1", driver: "sim", transport: "https",
      longPollSeconds: 30, reportIntervalSeconds: 30, outboxMax: 10_000, logLevel: "info", labels: {},
      sim: { stepDelayMs: 0, fail: [] },
    });
    expect(c.healIntervalSeconds).toBeUndefined();
    expect(c.enrollToken).toBeUndefined();
  });

  it("layers file < env < overrides", () => {
    const t = tempDir(); cleanups.push(t.cleanup);
    const file = join(t.dir, "agent.yaml");
    writeFileSync(file, "hubUrl: https://file.example\nsite: from-file\nlongPollSeconds: 10\nlabels:\n  region: eu\nsim:\n  stepDelayMs: 5\n");
    const c = loadConfig({
      file,
      env: { OUTPOST_SITE: "from-env", OUTPOST_LABELS: "region=us, tier=edge", OUTPOST_SIM_FAIL: "web1, db1", OUTPOST_HEAL_INTERVAL_SECONDS: "2" },
      overrides: { longPollSeconds: 5 },
    });
    expect(c.hubUrl).toBe("https://file.example");
    expect(c.site).toBe("from-env");
    expect(c.longPollSeconds).toBe(5);
    expect(c.labels).toEqual({ region: "us", tier: "edge" });
    expect(c.sim).toEqual({ stepDelayMs: 5, fail: ["web1", "db1"] });
    expect(c.healIntervalSeconds).toBe(2);
  });

  it("names the field and where the bad value came from", () => {
    const e = errorOf(() => loadConfig({ env: { ...base, OUTPOST_LONG_POLL_SECONDS: "soon" } }));
    expect(e.issues.map((i) => i.field)).toEqual(["longPollSeconds"]);
    expect(e.message).toMatch(/longPollSeconds \(from OUTPOST_LONG_POLL_SECONDS\)/);

    const e2 = errorOf(() => loadConfig({ env: { ...base, OUTPOST_SITE: "Not_A_Label" } }));
    expect(e2.message).toMatch(/site \(from OUTPOST_SITE\): must be a DNS label/);

    const e3 = errorOf(() => loadConfig({ env: { ...base, OUTPOST_DRIVER: "lxd" } }));
    expect(e3.issues[0]!.field).toBe("driver");

    const e4 = errorOf(() => loadConfig({ env: { ...base }, overrides: { longPollSeconds: 600 } }));
    expect(e4.message).toMatch(/longPollSeconds \(from overrides\)/);
  });

  it("reports missing required fields and unknown keys by name", () => {
    const e = errorOf(() => loadConfig({ env: {} }));
    expect(e.issues.map((i) => i.field).sort()).toEqual(["hubUrl", "site"]);

    const t = tempDir(); cleanups.push(t.cleanup);
    const file = join(t.dir, "agent.yaml");
    writeFileSync(file, "hubUrl: https://h\nsite: s1\nlongpoll: 3\n");
    const e2 = errorOf(() => loadConfig({ file, env: {} }));
    expect(e2.message).toMatch(/longpoll/);
  });

  it("rejects a bad hub URL, labels and a missing file clearly", () => {
    expect(errorOf(() => loadConfig({ env: { ...base, OUTPOST_HUB_URL: "ftp://x" } })).issues[0]!.field).toBe("hubUrl");
    expect(errorOf(() => loadConfig({ env: { ...base, OUTPOST_LABELS: "region" } })).issues[0]!.field).toMatch(/^labels/);
    expect(errorOf(() => loadConfig({ file: "/nonexistent/agent.yaml", env: base })).message).toMatch(/cannot read agent config file/);
  });

  it("never echoes the enrollment token in errors", () => {
    const e = errorOf(() => loadConfig({ env: { ...base, OUTPOST_ENROLL_TOKEN: "opt1.secret-value", OUTPOST_OUTBOX_MAX: "1" } }));
    expect(e.message).not.toContain("secret-value");
    expect(e.issues[0]!.field).toBe("outboxMax");
  });
});

describe("real drivers in the config", () => {
  it("takes the drivers list and each daemon's endpoint from a file, with env overriding one field of a section", () => {
    const t = tempDir(); cleanups.push(t.cleanup);
    const file = join(t.dir, "agent.yaml");
    writeFileSync(file, [
      "driver: real", "drivers: [lxd, ovn, ceph, host]",
      "lxd: { socket: /var/snap/lxd/common/lxd/unix.socket, stopTimeoutSeconds: 10 }",
      "ovn: { remote: 'unix:/run/ovn/ovnnb_db.sock' }", "ceph: { conf: /etc/ceph/ceph.conf }",
    ].join("\n"));
    const c = loadConfig({ file, env: { ...base, OUTPOST_LXD_STOP_TIMEOUT_SECONDS: "0", OUTPOST_CEPH_KEYRING: "/etc/ceph/k" } });
    expect(c).toMatchObject({
      driver: "real", drivers: ["lxd", "ovn", "ceph", "host"],
      lxd: { socket: "/var/snap/lxd/common/lxd/unix.socket", stopTimeoutSeconds: 0 },
      ovn: { remote: "unix:/run/ovn/ovnnb_db.sock" }, ceph: { conf: "/etc/ceph/ceph.conf", keyring: "/etc/ceph/k" },
    });
  });

  it("defaults to LXD and apt, the systems every site has", () => {
    expect(loadConfig({ env: { ...base, OUTPOST_DRIVER: "real" } }).drivers).toEqual(["lxd", "host"]);
  });

  it("refuses ovn or ceph without their endpoint, naming the field and the variable", () => {
    const ovn = errorOf(() => loadConfig({ env: { ...base, OUTPOST_DRIVER: "real", OUTPOST_DRIVERS: "lxd,ovn" } }));
    expect(ovn.issues[0]).toMatchObject({ field: "ovn.remote" });
    expect(ovn.message).toMatch(/ovn\.remote/);
    const ceph = errorOf(() => loadConfig({ env: { ...base, OUTPOST_DRIVER: "real", OUTPOST_DRIVERS: "ceph" } }));
    expect(ceph.issues[0]?.message).toMatch(/OUTPOST_CEPH_CONF/);
    const bad = errorOf(() => loadConfig({ env: { ...base, OUTPOST_DRIVER: "real", OUTPOST_DRIVERS: "lxd,vmware" } }));
    expect(bad.issues[0]?.field).toMatch(/^drivers/);
    const remote = errorOf(() => loadConfig({ env: { ...base, OUTPOST_OVN_REMOTE: "ssl:1.2.3.4" } }));
    expect(remote.issues[0]).toMatchObject({ field: "ovn.remote", source: "OUTPOST_OVN_REMOTE" });
  });
});
