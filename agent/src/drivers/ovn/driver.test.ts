// The OVN driver against a real OVN Northbound ovsdb-server, with the Southbound database and
// ovn-northd running too (so "northd accepts what we wrote" is checked, not assumed). Foreign objects
// are made with ovn-nbctl, the way an operator would; results are read back with ovn-nbctl.
import fc from "fast-check";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { Spec, type SpecInput } from "@outpost/shared";
import { start, type OvnHandle } from "../../../../test/daemons/ovn.ts";
import { run } from "../../../../test/daemons/util.ts";
import { ovnSpecArb } from "./arbitraries.test-support.ts";
import { convergeOnce } from "../converge.test-support.ts";
import { foreignRows, planNow, resetNb } from "./converge.test-support.ts";
import { makeStep } from "../types.ts";
import { OvnApplyError, sendTransaction } from "./apply.ts";
import { createOvnDriver, type OvnDriver } from "./driver.ts";
import { isOwned, OWNED_KEY } from "./nb.ts";
import { normalize } from "./normalize.ts";
import { readSnapshot } from "./observe.ts";
import { OvsdbClient } from "./ovsdb.ts";
import { desiredOvn } from "./plan.ts";
import { buildTransaction } from "./txn.ts";

const site = (ovn: SpecInput["ovn"]) => Spec.parse({ ovn });

const WEB_ACLS = [
  { direction: "to-lport", priority: 1000, match: "outport == @pg_web && tcp.dst == 80", action: "allow-related" },
  { direction: "to-lport", priority: 900, match: "outport == @pg_web", action: "drop" },
] as const;

const FULL = site({
  switches: [
    { name: "sw0", subnet: "10.0.0.0/24", ports: [
      { name: "web1", addresses: ["00:00:00:00:00:01 10.0.0.10"], portSecurity: ["00:00:00:00:00:01 10.0.0.10"] },
      { name: "db1", addresses: ["dynamic"] },
    ] },
    { name: "sw1", subnet: "10.1.0.0/24", ports: [] },
  ],
  routers: [{ name: "lr0", ports: [{ name: "lr0-sw0", mac: "00:00:00:00:ff:01", networks: ["10.0.0.1/24"], switch: "sw0" }] }],
  portGroups: [{ name: "pg_web", ports: ["web1"], acls: [...WEB_ACLS] }],
  dhcp: [{ cidr: "10.0.0.0/24", options: { router: "10.0.0.1", lease_time: "3600", server_id: "10.0.0.1", server_mac: "00:00:00:00:ff:01" } }],
});

describe("OVN driver against a real Northbound database (with ovn-northd)", () => {
  let h: OvnHandle;
  let driver: OvnDriver;
  let raw: OvsdbClient;
  const nbctl = (...args: string[]) => h.nbctl(...args);
  const sbctl = async (...args: string[]) => (await run("ovn-sbctl", [`--db=${h.sbRemote!}`, ...args], { env: h.env })).stdout;

  beforeAll(async () => {
    h = await start({ northd: true, tcp: true });
    driver = createOvnDriver({ remote: h.nbRemote });
    raw = new OvsdbClient({ remote: h.nbRemote });
  });
  afterAll(async () => {
    driver?.close();
    raw?.close();
    await h?.stop();
  });
  beforeEach(async () => { await resetNb(raw); });

  /** Converges and insists nothing failed and the next pass has nothing left to do. */
  async function converge(spec: Spec) {
    const r = await convergeOnce(driver, spec);
    expect(r.failed.map((f) => `${f.id}: ${f.error}`)).toEqual([]);
    expect(await planNow(driver, spec)).toEqual([]);
    return r;
  }

  it("builds switches, ports, a router attached to a switch, a port group with ACLs and DHCP options; a second pass plans nothing", async () => {
    const r = await converge(FULL);
    expect(r.steps.map((s) => s.id)).toEqual([
      "ovn/ovn.switch/sw0/create", "ovn/ovn.switch/sw1/create", "ovn/ovn.switch-port/web1/create", "ovn/ovn.switch-port/db1/create",
      "ovn/ovn.router/lr0/create", "ovn/ovn.router-port/lr0-sw0/create", "ovn/ovn.port-group/pg_web/create", "ovn/ovn.dhcp/10.0.0.0/24/create",
    ]);

    // What an operator sees.
    const show = await nbctl("show");
    expect(show).toMatch(/switch \S+ \(sw0\)[\s\S]*port web1\n\s+addresses: \["00:00:00:00:00:01 10.0.0.10"\]/);
    expect(show).toMatch(/port lr0-sw0-peer\n\s+type: router\n\s+router-port: lr0-sw0/);
    expect(show).toMatch(/router \S+ \(lr0\)\n\s+port lr0-sw0\n\s+mac: "00:00:00:00:ff:01"\n\s+networks: \["10.0.0.1\/24"\]/);
    expect(show).toMatch(/switch \S+ \(sw1\)/);
    expect((await nbctl("get", "Logical_Switch", "sw0", "other_config:subnet")).trim()).toBe('"10.0.0.0/24"');
    expect((await nbctl("lsp-get-port-security", "web1")).trim()).toBe("00:00:00:00:00:01 10.0.0.10");
    expect((await nbctl("lsp-get-addresses", "db1")).trim()).toBe("dynamic");
    expect(await nbctl("acl-list", "pg_web")).toBe(
      "  to-lport  1000 (outport == @pg_web && tcp.dst == 80) allow-related\n  to-lport   900 (outport == @pg_web) drop\n");
    expect((await nbctl("get", "Port_Group", "pg_web", "ports")).trim()).toBe((await nbctl("get", "Logical_Switch_Port", "web1", "_uuid")).trim().replace(/^/, "[").concat("]"));
    const dhcp = (await nbctl("dhcp-options-list")).trim();
    expect((await nbctl("dhcp-options-get-options", dhcp)).split("\n").filter(Boolean).sort())
      .toEqual(["lease_time=3600", "router=10.0.0.1", "server_id=10.0.0.1", "server_mac=00:00:00:00:ff:01"]);
    // Everything it made carries the mark.
    for (const [table, rec] of [["Logical_Switch", "sw0"], ["Logical_Switch_Port", "web1"], ["Logical_Switch_Port", "lr0-sw0-peer"], ["Logical_Router", "lr0"], ["Logical_Router_Port", "lr0-sw0"], ["Port_Group", "pg_web"], ["DHCP_Options", dhcp]] as const) {
      expect((await nbctl("get", table, rec, `external_ids:${OWNED_KEY}`)).trim(), `${table} ${rec}`).toBe('"true"');
    }
    expect((await nbctl("--columns=external_ids", "list", "ACL")).match(/outpost-owned="true"/g)).toHaveLength(2);

    // northd takes it: SB catches up, with a binding for each port and the router port.
    await nbctl("--timeout=20", "--wait=sb", "sync");
    const bindings = await sbctl("--bare", "--columns=logical_port", "list", "Port_Binding");
    expect(bindings.split(/\s+/).filter(Boolean).sort()).toEqual(["db1", "lr0-sw0", "lr0-sw0-peer", "web1"]);
    expect((await nbctl("--bare", "--columns=dynamic_addresses", "list", "Logical_Switch_Port", "db1")).trim()).toMatch(/^[0-9a-f:]{17} 10\.0\.0\.\d+$/);

    expect(driver.metrics!(await driver.observe())).toMatchObject({ "ovn.switch.count": 2, "ovn.switch.owned": 2, "ovn.switch-port.count": 2, "ovn.router-port.owned": 1, "ovn.port-group.count": 1, "ovn.dhcp.count": 1 });
  });

  it("heals an ACL deleted by hand and ports deleted by hand (and puts them back in their port group)", async () => {
    await converge(FULL);
    await nbctl("acl-del", "pg_web", "to-lport", "900", "outport == @pg_web");
    await nbctl("lsp-del", "web1");
    await nbctl("lsp-del", "lr0-sw0-peer");
    expect((await planNow(driver, FULL)).sort()).toEqual(["ovn/ovn.port-group/pg_web/update", "ovn/ovn.router-port/lr0-sw0/update", "ovn/ovn.switch-port/web1/create"]);
    await converge(FULL);
    expect(await nbctl("acl-list", "pg_web")).toContain("to-lport   900 (outport == @pg_web) drop");
    expect(await nbctl("lsp-list", "sw0")).toMatch(/\(web1\)/);
    expect(await nbctl("show")).toMatch(/port lr0-sw0-peer\n\s+type: router\n\s+router-port: lr0-sw0/);
    expect((await nbctl("get", "Port_Group", "pg_web", "ports")).trim()).toBe(`[${(await nbctl("get", "Logical_Switch_Port", "web1", "_uuid")).trim()}]`);
    await nbctl("--timeout=20", "--wait=sb", "sync");
  });

  it("updates in place: the same rows, new values (a port keeps its uuid, a router port moves switch)", async () => {
    await converge(FULL);
    const webUuid = (await nbctl("get", "Logical_Switch_Port", "web1", "_uuid")).trim();
    await nbctl("set", "Logical_Switch", "sw0", "other_config:mcast_snoop=true"); // an operator's key, not Outpost's
    const changed = site({
      ...FULL.ovn,
      switches: [
        { name: "sw0", subnet: "10.0.5.0/24", ports: [{ name: "web1", addresses: ["00:00:00:00:00:01 10.0.5.10", "dynamic"], portSecurity: [] }, { name: "db1", addresses: ["dynamic"] }] },
        { name: "sw1", ports: [] },
      ],
      routers: [{ name: "lr0", ports: [{ name: "lr0-sw0", mac: "00:00:00:00:ff:02", networks: ["10.0.5.1/24", "fd00::1/64"], switch: "sw1" }] }],
      portGroups: [{ name: "pg_web", ports: ["web1", "db1"], acls: [WEB_ACLS[0], { direction: "from-lport", priority: 100, match: "ip4", action: "allow" }] }],
      dhcp: [{ cidr: "10.0.0.0/24", options: { router: "10.0.5.1", lease_time: "600" } }],
    });
    const r = await converge(changed);
    expect(r.steps.every((s) => s.action === "update")).toBe(true);
    expect((await nbctl("get", "Logical_Switch_Port", "web1", "_uuid")).trim()).toBe(webUuid);
    expect((await nbctl("get", "Logical_Switch", "sw0", "other_config")).trim()).toBe('{mcast_snoop="true", subnet="10.0.5.0/24"}');
    expect((await nbctl("get", "Logical_Switch", "sw1", "other_config")).trim()).toBe("{}");
    expect((await nbctl("lsp-get-port-security", "web1")).trim()).toBe("");
    expect(await nbctl("lsp-list", "sw0")).not.toMatch(/lr0-sw0-peer/);
    expect(await nbctl("lsp-list", "sw1")).toMatch(/\(lr0-sw0-peer\)/);
    expect((await nbctl("get", "Logical_Router_Port", "lr0-sw0", "networks")).trim()).toBe('["10.0.5.1/24", "fd00::1/64"]');
    expect(await nbctl("acl-list", "pg_web")).toBe("from-lport   100 (ip4) allow\n  to-lport  1000 (outport == @pg_web && tcp.dst == 80) allow-related\n");
    // The replaced ACL row is gone, not merely unreferenced.
    expect((await nbctl("--bare", "--columns=match", "list", "ACL")).split("\n").filter(Boolean).sort()).toEqual(["ip4", "outport == @pg_web && tcp.dst == 80"]);
    await nbctl("--timeout=20", "--wait=sb", "sync");
  });

  it("removing objects from the spec deletes Outpost's rows, peers and ACLs included", async () => {
    await converge(FULL);
    await converge(site({ switches: [{ name: "sw0", subnet: "10.0.0.0/24", ports: [{ name: "db1", addresses: ["dynamic"] }] }] }));
    const show = await nbctl("show");
    expect(show).not.toMatch(/web1|lr0|sw1/);
    expect(await nbctl("lsp-list", "sw0")).toMatch(/^\S+ \(db1\)\n$/);
    expect(await nbctl("list", "ACL")).toBe("");
    expect(await nbctl("list", "Port_Group")).toBe("");
    expect(await nbctl("list", "DHCP_Options")).toBe("");
    await converge(site({}));
    expect(await nbctl("show")).toBe("");
  });

  it("never touches foreign objects: not while converging, not when the spec is emptied", async () => {
    // An operator's switch with a port and an ACL, a router, a port group with an ACL, DHCP options.
    await nbctl("ls-add", "lab", "--", "lsp-add", "lab", "lab-vm1", "--", "lsp-set-addresses", "lab-vm1", "00:00:00:00:aa:01 192.168.7.10");
    await nbctl("acl-add", "lab", "to-lport", "100", "ip4.src == 192.168.7.0/24", "allow");
    await nbctl("lr-add", "edge", "--", "lrp-add", "edge", "edge-lab", "00:00:00:00:aa:ff", "192.168.7.1/24");
    await nbctl("pg-add", "pg_ops", "lab-vm1", "--", "acl-add", "pg_ops", "from-lport", "50", "inport == @pg_ops", "allow-related");
    await nbctl("dhcp-options-create", "192.168.7.0/24");
    const before = await foreignRows(raw);
    expect(before.switches).toHaveLength(1);

    await converge(FULL);
    expect(await foreignRows(raw)).toEqual(before);
    await converge(site({}));
    expect(await foreignRows(raw)).toEqual(before);
    expect((await readSnapshot(raw)).switches.map((s) => s.name)).toEqual(["lab"]);
    expect(await nbctl("acl-list", "lab")).toBe("  to-lport   100 (ip4.src == 192.168.7.0/24) allow\n");
    expect(await nbctl("acl-list", "pg_ops")).toBe("from-lport    50 (inport == @pg_ops) allow-related\n");
  });

  it("a spec'd name held by a foreign object fails its step with a clear error and leaves that object alone", async () => {
    await nbctl("ls-add", "sw0", "--", "lsp-add", "sw0", "db1");
    await nbctl("pg-add", "pg_web");
    const before = await foreignRows(raw);
    const r = await convergeOnce(driver, FULL);
    const errors = Object.fromEntries(r.failed.map((f) => [f.id, f.error]));
    expect(errors["ovn/ovn.switch/sw0/create"]).toMatch(/ovn.switch "sw0": name taken by an object Outpost does not own/);
    expect(errors["ovn/ovn.switch-port/db1/create"]).toMatch(/ovn.switch-port "db1": name taken by an object Outpost does not own/);
    expect(errors["ovn/ovn.port-group/pg_web/create"]).toMatch(/ovn.port-group "pg_web": name taken/);
    // A port for that switch cannot go in it either; independent objects still converge.
    expect(errors["ovn/ovn.switch-port/web1/create"]).toMatch(/switch "sw0" is not owned by Outpost/);
    expect(Object.keys(errors).sort()).toEqual(["ovn/ovn.port-group/pg_web/create", "ovn/ovn.router-port/lr0-sw0/create", "ovn/ovn.switch-port/db1/create", "ovn/ovn.switch-port/web1/create", "ovn/ovn.switch/sw0/create"]);
    expect(await nbctl("lsp-list", "sw1")).toBe("");
    expect(await nbctl("lr-list")).toMatch(/\(lr0\)/);
    expect(await foreignRows(raw)).toEqual(before);
    expect((await nbctl("get", "Logical_Switch", "sw0", "other_config")).trim()).toBe("{}");
    // The conflict stays visible on every pass (the reconciler quarantines it), nothing else is left.
    expect((await planNow(driver, FULL)).sort()).toEqual(["ovn/ovn.port-group/pg_web/create", "ovn/ovn.router-port/lr0-sw0/create", "ovn/ovn.switch-port/db1/create", "ovn/ovn.switch-port/web1/create", "ovn/ovn.switch/sw0/create"]);
  });

  it("an operator's ACL added to an Outpost port group survives updates and blocks deleting the group, saying why", async () => {
    await converge(FULL);
    await nbctl("acl-add", "pg_web", "from-lport", "10", "arp", "allow");
    await converge(site({ ...FULL.ovn, portGroups: [{ name: "pg_web", ports: ["web1"], acls: [WEB_ACLS[1]] }] }));
    expect(await nbctl("acl-list", "pg_web")).toBe("from-lport    10 (arp) allow\n  to-lport   900 (outport == @pg_web) drop\n");
    const r = await convergeOnce(driver, site({ ...FULL.ovn, portGroups: [] }));
    expect(r.failed.map((f) => f.error)).toEqual([expect.stringMatching(/ovn.port-group "pg_web": not deleted, it holds ACLs Outpost does not own \("arp"\)/)]);
    expect(await nbctl("acl-list", "pg_web")).toContain("(arp) allow");
  });

  it("every step can be applied again (a retry after a lost answer or a crash) without failing or changing more", async () => {
    const first = await converge(FULL);
    await nbctl("--timeout=20", "--wait=sb", "sync"); // let northd's own NB writes (dynamic addresses) land first
    const show = await nbctl("show");
    for (const step of first.steps) await driver.apply(step);
    expect(await nbctl("show")).toBe(show);
    expect(await planNow(driver, FULL)).toEqual([]);
    const teardown = await converge(site({}));
    for (const step of teardown.steps) await driver.apply(step);
    expect(await nbctl("show")).toBe("");
  });

  it("a change between the driver's read and its commit aborts the step whole (the wait guards), with a clear error", async () => {
    // Built from a snapshot taken before an operator's ovn-nbctl call, sent after it.
    const stale = await readSnapshot(raw);
    const mkSwitch = makeStep({ driver: "ovn", kind: "ovn.switch", name: "sw0", action: "create", after: { subnet: "10.0.0.0/24" } });
    const txn = buildTransaction(mkSwitch, stale);
    await nbctl("ls-add", "sw0");
    const err = await sendTransaction(raw, mkSwitch, txn).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OvnApplyError);
    expect((err as Error).message).toMatch(/create ovn.switch sw0: ovn.switch "sw0": name taken by an object Outpost does not own.*\(created meanwhile\)/);
    expect((await readSnapshot(raw)).switches.map((x) => [x.name, isOwned(x)])).toEqual([["sw0", false]]);

    // A port whose switch vanished: without the guard the new port would be silently garbage-collected.
    await converge(site({ switches: [{ name: "sw1" }] }));
    const mkPort = makeStep({ driver: "ovn", kind: "ovn.switch-port", name: "p1", action: "create", after: { switch: "sw1", addresses: ["dynamic"], portSecurity: [] } });
    const portTxn = buildTransaction(mkPort, await readSnapshot(raw));
    await nbctl("ls-del", "sw1");
    await expect(sendTransaction(raw, mkPort, portTxn)).rejects.toThrow(/create ovn.switch-port p1: the Northbound database changed while the step was applied/);
    expect(await nbctl("list", "Logical_Switch_Port")).toBe("");
  });

  it("property: from any earlier state, converging a spec leaves nothing to plan, exactly the spec's objects, and foreign rows as they were", async () => {
    const tcpDriver = createOvnDriver({ remote: h.nbTcpRemote! });
    try {
      await fc.assert(fc.asyncProperty(ovnSpecArb({ consistent: true }), ovnSpecArb({ consistent: true }), async (a, b) => {
        await resetNb(raw);
        // Foreign rows with names outside the spec's pools.
        await nbctl("ls-add", "lab", "--", "lsp-add", "lab", "lab-vm1", "--", "acl-add", "lab", "to-lport", "100", "ip4", "allow", "--", "pg-add", "pg_ops", "lab-vm1");
        const before = await foreignRows(raw);
        for (const spec of [a, b]) {
          const r = await convergeOnce(tcpDriver, spec);
          expect(r.failed.map((f) => `${f.id}: ${f.error}`)).toEqual([]);
          expect(await planNow(tcpDriver, spec)).toEqual([]);
        }
        const owned = normalize(await readSnapshot(raw)).objects.filter((o) => o.owner === "outpost").map((o) => ({ kind: o.kind, name: o.name, fields: o.fields }));
        const key = (o: { kind: string; name: string }) => `${o.kind} ${o.name}`;
        const byKey = (xs: { kind: string; name: string; fields: unknown }[]) => [...xs].sort((x, y) => key(x).localeCompare(key(y)));
        expect(byKey(owned)).toEqual(byKey(desiredOvn(b).map((d) => ({ kind: d.kind, name: d.name, fields: d.fields }))));
        expect(await foreignRows(raw)).toEqual(before);
        expect((await readSnapshot(raw)).acls.filter((x) => !isOwned(x))).toHaveLength(1);
      }), { numRuns: 25 });
      await nbctl("--timeout=20", "--wait=sb", "sync");
    } finally { tcpDriver.close(); }
  });
});
