// Pure tests of normalize() and planOvn(): what an unchanged, drifted or shared Northbound database
// plans, without a server. The converge-to-empty property against the real server is in driver.test.ts.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Spec } from "@outpost/shared";
import { OUTPOST_OWNER } from "../objects/desired.ts";
import { ovnSpecArb, permuteSets, snapshotArb } from "./arbitraries.test-support.ts";
import { emptySnapshot, OWNED_KEY, PEER_OF_KEY, type NbSnapshot } from "./nb.ts";
import { FOREIGN_OWNER, normalize } from "./normalize.ts";
import { desiredOvn, planOvn } from "./plan.ts";

const mine = { [OWNED_KEY]: "true" };
const theirs = {};

/** A site holding exactly what `spec` below asks for, written the way the driver writes it. */
function convergedSnapshot(): NbSnapshot {
  const s = emptySnapshot();
  s.switches.push({ uuid: "ls1", name: "sw0", ports: ["lsp1", "lsp2", "peer1"], acls: [], otherConfig: { subnet: "10.0.0.0/24", mcast_snoop: "true" }, externalIds: mine });
  s.switchPorts.push(
    { uuid: "lsp1", name: "web1", type: "", addresses: ["00:00:00:00:00:01 10.0.0.10", "dynamic"], portSecurity: [], options: {}, externalIds: mine },
    { uuid: "lsp2", name: "db1", type: "", addresses: ["dynamic"], portSecurity: ["00:00:00:00:00:02"], options: {}, externalIds: mine },
    { uuid: "peer1", name: "lr0-sw0-peer", type: "router", addresses: ["router"], portSecurity: [], options: { "router-port": "lr0-sw0" }, externalIds: { ...mine, [PEER_OF_KEY]: "lr0-sw0" } },
  );
  s.routers.push({ uuid: "lr1", name: "lr0", ports: ["lrp1"], externalIds: mine });
  s.routerPorts.push({ uuid: "lrp1", name: "lr0-sw0", mac: "00:00:00:00:ff:01", networks: ["10.0.0.1/24"], externalIds: mine });
  s.acls.push(
    { uuid: "acl1", direction: "to-lport", priority: 1000, match: "tcp.dst == 80", action: "allow-related", externalIds: mine },
    { uuid: "acl2", direction: "to-lport", priority: 900, match: "ip4", action: "drop", externalIds: mine },
  );
  s.portGroups.push({ uuid: "pg1", name: "pg_web", ports: ["lsp1"], acls: ["acl2", "acl1"], externalIds: mine });
  s.dhcp.push({ uuid: "d1", cidr: "10.0.0.0/24", options: { router: "10.0.0.1", lease_time: "3600" }, externalIds: mine });
  return s;
}

const spec = Spec.parse({
  ovn: {
    switches: [{ name: "sw0", subnet: "10.0.0.0/24", ports: [
      { name: "web1", addresses: ["dynamic", "00:00:00:00:00:01 10.0.0.10"] },
      { name: "db1", addresses: ["dynamic"], portSecurity: ["00:00:00:00:00:02"] },
    ] }],
    routers: [{ name: "lr0", ports: [{ name: "lr0-sw0", mac: "00:00:00:00:ff:01", networks: ["10.0.0.1/24"], switch: "sw0" }] }],
    portGroups: [{ name: "pg_web", ports: ["web1"], acls: [
      { direction: "to-lport", priority: 1000, match: "tcp.dst == 80", action: "allow-related" },
      { direction: "to-lport", priority: 900, match: "ip4", action: "drop" },
    ] }],
    dhcp: [{ cidr: "10.0.0.0/24", options: { lease_time: "3600", router: "10.0.0.1" } }],
  },
});

describe("normalize: the Northbound database as the planner's objects", () => {
  it("a site that matches its spec plans nothing (set order, other_config keys and router peers do not count)", () => {
    expect(planOvn(spec, normalize(convergedSnapshot()))).toEqual([]);
  });

  it("a router port's peer switch port is folded into the router port, not listed as a switch port", () => {
    const objs = normalize(convergedSnapshot()).objects;
    expect(objs.find((o) => o.name === "lr0-sw0-peer")).toBeUndefined();
    expect(objs.find((o) => o.kind === "ovn.router-port")).toMatchObject({ name: "lr0-sw0", fields: { router: "lr0", switch: "sw0" }, owner: OUTPOST_OWNER });
  });

  it("a peer whose router port is gone shows as an owned switch port, so it gets deleted", () => {
    const s = convergedSnapshot();
    s.routers[0]!.ports = [];
    s.routerPorts = [];
    const steps = planOvn(spec, normalize(s));
    expect(steps.map((x) => x.id).sort()).toEqual(["ovn/ovn.router-port/lr0-sw0/create", "ovn/ovn.switch-port/lr0-sw0-peer/delete"]);
  });

  it("a tampered peer or a second peer makes the router port differ, so it is rewritten", () => {
    const tampered = convergedSnapshot();
    tampered.switchPorts[2]!.options = { "router-port": "elsewhere" };
    expect(planOvn(spec, normalize(tampered)).map((x) => x.id)).toEqual(["ovn/ovn.router-port/lr0-sw0/update"]);
    const twice = convergedSnapshot();
    twice.switches.push({ uuid: "ls2", name: "sw9", ports: ["peer2"], acls: [], otherConfig: {}, externalIds: mine });
    twice.switchPorts.push({ ...twice.switchPorts[2]!, uuid: "peer2", name: "other-peer" });
    expect(planOvn(spec, normalize(twice)).map((x) => x.id)).toContain("ovn/ovn.router-port/lr0-sw0/update");
  });

  it("an operator's ACL in an Outpost port group is not compared (and so never removed)", () => {
    const s = convergedSnapshot();
    s.acls.push({ uuid: "acl9", direction: "from-lport", priority: 5, match: "arp", action: "allow", externalIds: theirs });
    s.portGroups[0]!.acls.push("acl9");
    expect(planOvn(spec, normalize(s))).toEqual([]);
  });

  it("rows without the mark are foreign; among same-named rows Outpost's own is the one managed", () => {
    const s = convergedSnapshot();
    s.switches.push({ uuid: "ls0", name: "sw0", ports: [], acls: [], otherConfig: {}, externalIds: theirs });
    s.switches.push({ uuid: "ls9", name: "lab", ports: [], acls: [], otherConfig: {}, externalIds: { [OWNED_KEY]: "false" } });
    const objs = normalize({ ...s, switches: [s.switches[1]!, s.switches[0]!, s.switches[2]!] }).objects;
    expect(objs.filter((o) => o.kind === "ovn.switch")).toEqual([
      { kind: "ovn.switch", name: "sw0", fields: { subnet: "10.0.0.0/24" }, owner: OUTPOST_OWNER },
      { kind: "ovn.switch", name: "lab", fields: {}, owner: FOREIGN_OWNER },
    ]);
  });

  it("does not depend on the order rows come in", () => {
    fc.assert(fc.property(snapshotArb, fc.integer(), (snap, seed) => {
      const shuffle = <T>(xs: T[]) => xs.map((x, i) => ({ x, k: Math.sin(seed + i) })).sort((a, b) => a.k - b.k).map((y) => y.x);
      const shuffled: NbSnapshot = {
        switches: shuffle(snap.switches.map((s) => ({ ...s, ports: shuffle(s.ports) }))), switchPorts: shuffle(snap.switchPorts.map((p) => ({ ...p, addresses: shuffle(p.addresses) }))),
        routers: shuffle(snap.routers), routerPorts: shuffle(snap.routerPorts), portGroups: shuffle(snap.portGroups.map((g) => ({ ...g, acls: shuffle(g.acls) }))),
        acls: shuffle(snap.acls), dhcp: snap.dhcp,
      };
      const key = (o: { kind: string; name: string }) => `${o.kind} ${o.name}`;
      const sort = <T extends { kind: string; name: string }>(os: T[]) => [...os].sort((a, b) => key(a).localeCompare(key(b)));
      // Same-named foreign duplicates may swap which one is shown, but they all read as foreign.
      expect(sort(normalize(shuffled).objects).map((o) => [key(o), o.owner])).toEqual(sort(normalize(snap).objects).map((o) => [key(o), o.owner]));
    }));
  });
});

describe("planOvn", () => {
  it("keeps a failing create for a name held by a row Outpost does not own, instead of skipping it", () => {
    const s = emptySnapshot();
    s.switches.push({ uuid: "x", name: "sw0", ports: [], acls: [], otherConfig: {}, externalIds: theirs });
    const steps = planOvn(Spec.parse({ ovn: { switches: [{ name: "sw0" }] } }), normalize(s));
    expect(steps).toEqual([expect.objectContaining({ id: "ovn/ovn.switch/sw0/create", after: {} })]);
  });

  it("removing everything from the spec deletes only what Outpost owns", () => {
    const s = convergedSnapshot();
    s.switches.push({ uuid: "lsx", name: "lab", ports: [], acls: [], otherConfig: {}, externalIds: theirs });
    const steps = planOvn(Spec.parse({}), normalize(s));
    expect(steps.every((x) => x.action === "delete")).toBe(true);
    expect(steps.map((x) => `${x.kind} ${x.name}`).sort()).toEqual([
      "ovn.dhcp 10.0.0.0/24", "ovn.port-group pg_web", "ovn.router lr0", "ovn.router-port lr0-sw0", "ovn.switch sw0", "ovn.switch-port db1", "ovn.switch-port web1",
    ]);
  });

  it("property: never updates or deletes a foreign object; creates exactly what is desired and missing or foreign", () => {
    fc.assert(fc.property(ovnSpecArb(), snapshotArb, (sp, snap) => {
      const observed = normalize(snap);
      const steps = planOvn(sp, observed);
      const obs = new Map(observed.objects.map((o) => [`${o.kind} ${o.name}`, o]));
      const want = new Map(desiredOvn(sp).map((d) => [`${d.kind} ${d.name}`, d]));
      for (const st of steps) {
        const o = obs.get(`${st.kind} ${st.name}`);
        if (st.action === "create") {
          expect(want.has(`${st.kind} ${st.name}`)).toBe(true);
          expect(o === undefined || o.owner === FOREIGN_OWNER).toBe(true);
        } else {
          expect(o?.owner).toBe(OUTPOST_OWNER);
        }
      }
      for (const [k, d] of want) if (!obs.has(k)) expect(steps.some((st) => `${st.kind} ${st.name}` === k && st.action === "create" && JSON.stringify(st.after) === JSON.stringify(d.fields))).toBe(true);
      expect(new Set(steps.map((st) => st.id)).size).toBe(steps.length);
    }));
  });

  it("property: the order of set-valued lists in the spec (addresses, networks, ports, ACLs) never changes the plan", () => {
    fc.assert(fc.property(ovnSpecArb(), snapshotArb, (sp, snap) => {
      const observed = normalize(snap);
      expect(planOvn(permuteSets(sp), observed)).toEqual(planOvn(sp, observed));
    }));
  });
});
