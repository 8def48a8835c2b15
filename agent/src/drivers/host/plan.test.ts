import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { Spec, type SpecInput } from "@outpost/shared";
import type { DpkgEntry } from "./apt.ts";
import { hostObjects, planHost, type SecurityState } from "./plan.ts";

const observed = (pkgs: [string, string, DpkgEntry["state"]?][], security: SecurityState = { pending: [] }) =>
  ({ objects: hostObjects(pkgs.map(([name, version, state]) => ({ name, version, state: state ?? "installed" })), security) });
const spec = (host: NonNullable<SpecInput["host"]>) => Spec.parse({ host });

describe("host plan", () => {
  it("installs a missing package, re-pins a drifted one (either direction), leaves a matching one", () => {
    const steps = planHost(spec({ packages: [{ name: "jq", version: "1.6" }, { name: "curl", version: "7.88" }, { name: "lxd", version: "5.0.2" }] }),
      observed([["curl", "8.0"], ["lxd", "5.0.2"], ["bash", "5.2"]]));
    expect(steps.map((s) => [s.id, s.before, s.after])).toEqual([
      ["host/host.package/jq/create", undefined, { version: "1.6" }],
      ["host/host.package/curl/update", { version: "8.0" }, { version: "7.88" }],
    ]);
  });

  it("never uninstalls: packages outside the spec (or dropped from it) plan nothing", () => {
    expect(planHost(spec({}), observed([["jq", "1.6"], ["lxd", "5.0.2"]]))).toEqual([]);
  });

  it("a package dpkg left half-configured is installed again even at the pinned version", () => {
    const [s] = planHost(spec({ packages: [{ name: "jq", version: "1.6" }] }), observed([["jq", "1.6", "half-configured"]]));
    expect(s).toMatchObject({ action: "update", before: { version: "1.6", state: "half-configured" }, after: { version: "1.6" } });
  });

  it("marks the steps of disruptive packages disruptive, and only those", () => {
    const steps = planHost(spec({ packages: [{ name: "linux-image-amd64", version: "6.1.1", disruptive: true }, { name: "jq", version: "1.6" }] }), observed([]));
    expect(Object.fromEntries(steps.map((s) => [s.name, s.disruptive ?? false]))).toEqual({ "linux-image-amd64": true, jq: false });
  });

  it("a zero epoch in the spec means what dpkg prints without it", () => {
    expect(planHost(spec({ packages: [{ name: "jq", version: "0:1.6" }] }), observed([["jq", "1.6"]]))).toEqual([]);
  });

  it("security updates: nothing pending plans nothing; pending upgrades plan one step (disruptive by default)", () => {
    const on = spec({ securityUpdates: { enabled: true } });
    expect(planHost(on, observed([["openssl", "3.0.1"]]))).toEqual([]);
    const steps = planHost(on, observed([["openssl", "3.0.1"]], { pending: ["libssl3=3.0.2", "openssl=3.0.2"] }));
    expect(steps).toEqual([expect.objectContaining({ id: "host/host.security-updates/unattended-upgrades/update", disruptive: true, before: { enabled: true, pending: ["libssl3=3.0.2", "openssl=3.0.2"] }, after: { enabled: true } })]);
    expect(planHost(spec({ securityUpdates: { enabled: true, disruptive: false } }), observed([], { pending: ["openssl=3.0.2"] }))[0]?.disruptive).toBeUndefined();
  });

  it("security updates switched off plan nothing, whatever is pending", () => {
    expect(planHost(spec({}), observed([], { pending: ["openssl=3.0.2"] }))).toEqual([]);
  });

  it("a version pinned in the spec wins over a security upgrade of the same package", () => {
    const s = spec({ packages: [{ name: "openssl", version: "3.0.1" }], securityUpdates: { enabled: true } });
    expect(planHost(s, observed([["openssl", "3.0.1"]], { pending: ["openssl=3.0.2"] }))).toEqual([]);
    expect(planHost(s, observed([["openssl", "3.0.1"]], { pending: ["libssl3=3.0.2", "openssl=3.0.2"] }))[0]?.before).toEqual({ enabled: true, pending: ["libssl3=3.0.2"] });
  });

  it("apt unable to tell (broken dependencies) shows as a step carrying apt's message", () => {
    const [s] = planHost(spec({ securityUpdates: { enabled: true } }), observed([], { error: "E: Unmet dependencies" }));
    expect(s?.before).toEqual({ enabled: true, error: "E: Unmet dependencies" });
  });

  const pkg = fc.constantFrom("jq", "curl", "lxd", "openssl");
  const ver = fc.constantFrom("1.0", "1.1", "2.0-1", "1:3.0");
  const specArb = fc.record({
    packages: fc.uniqueArray(fc.record({ name: pkg, version: ver, disruptive: fc.boolean() }), { selector: (p) => p.name, maxLength: 4 }),
    security: fc.boolean(),
  }).map((g) => spec({ packages: g.packages, securityUpdates: { enabled: g.security } }));
  const hostArb = fc.record({
    pkgs: fc.uniqueArray(fc.tuple(fc.oneof(pkg, fc.constantFrom("bash", "libc6")), ver, fc.constantFrom<DpkgEntry["state"]>("installed", "installed", "half-configured")), { selector: (p) => p[0], maxLength: 6 }),
    pending: fc.uniqueArray(fc.tuple(pkg, ver).map(([n, v]) => `${n}=${v}`), { selector: (e) => e.split("=")[0], maxLength: 3 }),
  });

  /** What the driver's apply does to a host, as dpkg would then report it. */
  function applyAll(s: Spec, pkgs: Map<string, [string, DpkgEntry["state"]]>, pending: string[]): string[] {
    for (const step of planHost(s, { objects: hostObjects([...pkgs].map(([name, [version, state]]) => ({ name, version, state })), { pending }) })) {
      if (step.kind === "host.package") pkgs.set(step.name, [String((step.after as { version: string }).version), "installed"]);
      else {
        const list = (step.before as { pending: string[] }).pending;
        for (const e of list) pkgs.set(e.split("=")[0]!, [e.split("=")[1]!, "installed"]);
        pending = pending.filter((e) => !list.includes(e));
      }
    }
    return pending;
  }

  it("property: one pass converges any host; nothing outside the spec changes; no step ever deletes", () => {
    fc.assert(fc.property(specArb, hostArb, (s, h) => {
      const pkgs = new Map<string, [string, DpkgEntry["state"]]>(h.pkgs.map(([n, v, st]) => [n, [v, st]]));
      const untouched = new Map([...pkgs].filter(([n]) => !s.host.packages.some((p) => p.name === n) && !(s.host.securityUpdates.enabled && h.pending.some((e) => e.startsWith(`${n}=`)))));
      const first = planHost(s, { objects: hostObjects([...pkgs].map(([name, [version, state]]) => ({ name, version, state })), { pending: h.pending }) });
      expect(first.every((st) => st.action !== "delete")).toBe(true);
      const pending = applyAll(s, pkgs, h.pending);
      const again = planHost(s, { objects: hostObjects([...pkgs].map(([name, [version, state]]) => ({ name, version, state })), { pending }) });
      expect(again).toEqual([]);
      for (const [n, v] of untouched) expect(pkgs.get(n)).toEqual(v);
      for (const p of s.host.packages) expect(pkgs.get(p.name)?.[0]).toBe(p.version.replace(/^0:/, ""));
    }), { numRuns: 400 });
  });
});
