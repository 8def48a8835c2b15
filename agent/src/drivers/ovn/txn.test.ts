// Pure tests of the per-step transactions: shapes that matter to OVSDB (strong references, guards)
// and the ownership rule, checked on every step planned for random specs and databases.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { makeStep, type Step } from "../types.ts";
import { ovnSpecArb, snapshotArb } from "./arbitraries.test-support.ts";
import { emptySnapshot, isOwned, OWNED_KEY, type NbSnapshot } from "./nb.ts";
import { normalize } from "./normalize.ts";
import type { Operation } from "./ovsdb.ts";
import { planOvn } from "./plan.ts";
import { buildTransaction, NameTakenError, OvnRefusedError } from "./txn.ts";

const mine = { [OWNED_KEY]: "true" };
const step = (kind: string, name: string, action: Step["action"], after?: Record<string, unknown>) => makeStep({ driver: "ovn", kind, name, action, ...(after ? { after } : {}) });

function withSwitch(owned = true): NbSnapshot {
  const s = emptySnapshot();
  s.switches.push({ uuid: "ls1", name: "sw0", ports: [], acls: [], otherConfig: {}, externalIds: owned ? mine : {} });
  return s;
}

describe("buildTransaction", () => {
  it("a new switch port is inserted and referenced by its switch in the same transaction (else it is garbage-collected)", () => {
    const { ops } = buildTransaction(step("ovn.switch-port", "web1", "create", { switch: "sw0", addresses: ["dynamic"], portSecurity: [] }), withSwitch());
    expect(ops).toEqual([
      expect.objectContaining({ op: "wait", table: "Logical_Switch", until: "==" }),
      { op: "insert", table: "Logical_Switch_Port", "uuid-name": "lsp", row: { name: "web1", addresses: ["set", ["dynamic"]], port_security: ["set", []], external_ids: ["map", [[OWNED_KEY, "true"]]] } },
      { op: "mutate", table: "Logical_Switch", where: [["_uuid", "==", ["uuid", "ls1"]]], mutations: [["ports", "insert", ["set", [["named-uuid", "lsp"]]]]] },
    ]);
  });

  it("a new switch is guarded so a same-named switch created meanwhile aborts it", () => {
    const { ops, why } = buildTransaction(step("ovn.switch", "sw1", "create", { subnet: "10.0.0.0/24" }), emptySnapshot());
    expect(ops[0]).toEqual({ op: "wait", timeout: 0, table: "Logical_Switch", where: [["name", "==", "sw1"]], columns: ["name"], until: "==", rows: [] });
    expect(why[0]).toMatch(/name taken by an object Outpost does not own/);
    expect(ops[1]).toMatchObject({ op: "insert", row: { other_config: ["map", [["subnet", "10.0.0.0/24"]]] } });
  });

  it("create of an object that already exists (Outpost's) converges it instead of failing: retries are safe", () => {
    const { ops } = buildTransaction(step("ovn.switch", "sw0", "create", { subnet: "10.1.0.0/24" }), withSwitch());
    expect(ops.map((o) => o.op)).toEqual(["wait", "mutate"]);
    // Only the subnet key is Outpost's: it is replaced, other other_config keys are left as they are.
    expect(ops[1]).toMatchObject({ mutations: [["other_config", "delete", ["set", ["subnet"]]], ["other_config", "insert", ["map", [["subnet", "10.1.0.0/24"]]]]] });
  });

  it("a delete of something already gone is a no-op", () => {
    for (const kind of ["ovn.switch", "ovn.switch-port", "ovn.router", "ovn.router-port", "ovn.port-group", "ovn.dhcp"]) {
      expect(buildTransaction(step(kind, "gone", "delete"), withSwitch()).ops).toEqual([]);
    }
  });

  it("refuses to take over a name held by a foreign row", () => {
    expect(() => buildTransaction(step("ovn.switch", "sw0", "create", {}), withSwitch(false))).toThrow(NameTakenError);
    expect(() => buildTransaction(step("ovn.switch", "sw0", "create", {}), withSwitch(false))).toThrow(/ovn.switch "sw0": name taken by an object Outpost does not own/);
  });

  it("refuses to put a port into a switch Outpost does not own, or a missing one", () => {
    const after = { switch: "sw0", addresses: [], portSecurity: [] };
    expect(() => buildTransaction(step("ovn.switch-port", "p", "create", after), withSwitch(false))).toThrow(/switch "sw0" is not owned by Outpost/);
    expect(() => buildTransaction(step("ovn.switch-port", "p", "create", after), emptySnapshot())).toThrow(/switch "sw0" does not exist/);
  });

  it("refuses to delete a switch that holds someone else's port (deleting it would collect their port)", () => {
    const s = withSwitch();
    s.switchPorts.push({ uuid: "lspx", name: "vm-x", type: "", addresses: [], portSecurity: [], options: {}, externalIds: {} });
    s.switches[0]!.ports.push("lspx");
    expect(() => buildTransaction(step("ovn.switch", "sw0", "delete"), s)).toThrow(/not deleted, it holds objects Outpost does not own \(port vm-x\)/);
  });

  it("refuses to delete a port group holding someone else's ACL, and names it", () => {
    const s = emptySnapshot();
    s.acls.push({ uuid: "a1", direction: "to-lport", priority: 1, match: "arp", action: "allow", externalIds: {} });
    s.portGroups.push({ uuid: "pg1", name: "pg_web", ports: [], acls: ["a1"], externalIds: mine });
    expect(() => buildTransaction(step("ovn.port-group", "pg_web", "delete"), s)).toThrow(OvnRefusedError);
    expect(() => buildTransaction(step("ovn.port-group", "pg_web", "delete"), s)).toThrow(/"arp"/);
  });

  it("a port group naming a port that does not exist fails with that port's name", () => {
    expect(() => buildTransaction(step("ovn.port-group", "pg_web", "create", { ports: ["ghost"], acls: [] }), emptySnapshot())).toThrow(/switch port "ghost", which does not exist/);
  });

  it("a port group update adds the missing ACLs and removes only Outpost's unwanted ones", () => {
    const s = emptySnapshot();
    s.acls.push(
      { uuid: "keep", direction: "to-lport", priority: 1, match: "ip4", action: "allow", externalIds: mine },
      { uuid: "old", direction: "to-lport", priority: 2, match: "ip6", action: "drop", externalIds: mine },
      { uuid: "ops", direction: "to-lport", priority: 3, match: "arp", action: "allow", externalIds: {} },
    );
    s.portGroups.push({ uuid: "pg1", name: "pg_web", ports: [], acls: ["keep", "old", "ops"], externalIds: mine });
    const { ops } = buildTransaction(step("ovn.port-group", "pg_web", "update", { ports: [], acls: [
      { direction: "to-lport", priority: 1, match: "ip4", action: "allow" }, { direction: "from-lport", priority: 7, match: "tcp", action: "reject" },
    ] }), s);
    const inserts = ops.filter((o) => o.op === "insert");
    expect(inserts).toEqual([expect.objectContaining({ table: "ACL", row: expect.objectContaining({ match: "tcp", priority: 7 }) })]);
    expect(ops).toContainEqual({ op: "mutate", table: "Port_Group", where: [["_uuid", "==", ["uuid", "pg1"]]], mutations: [["acls", "delete", ["set", [["uuid", "old"]]]]] });
    expect(ops).toContainEqual({ op: "delete", table: "ACL", where: [["_uuid", "==", ["uuid", "old"]]] });
    expect(JSON.stringify(ops)).not.toContain('"ops"');
  });

  it("property: every planned step is one transaction that writes only Outpost's rows and leaves nothing to be garbage-collected", () => {
    fc.assert(fc.property(ovnSpecArb(), snapshotArb, (sp, snap) => {
      const owned = new Set<string>();
      for (const rows of Object.values(snap) as { uuid: string; externalIds: Record<string, string> }[][]) for (const r of rows) if (isOwned(r)) owned.add(r.uuid);
      for (const st of planOvn(sp, normalize(snap))) {
        let ops: Operation[];
        try {
          ops = buildTransaction(st, snap).ops;
        } catch (e) {
          expect(e).toSatisfy((x: unknown) => x instanceof NameTakenError || x instanceof OvnRefusedError);
          continue;
        }
        for (const [i, op] of ops.entries()) {
          if (op.op === "update" || op.op === "mutate" || op.op === "delete") {
            const target = ((op.where as unknown[][])[0]![2] as string[])[1]!;
            expect(owned.has(target), `${st.id}: op ${i} writes row ${target}, which Outpost does not own`).toBe(true);
          }
          if (op.op === "insert") {
            expect(JSON.stringify(op.row)).toContain(`["${OWNED_KEY}","true"]`);
            if (["Logical_Switch_Port", "Logical_Router_Port", "ACL"].includes(op.table as string)) {
              // A non-root row must be referenced in the same transaction, by its uuid-name.
              const name = op["uuid-name"] as string;
              expect(name, `${st.id}: insert into ${String(op.table)} without a uuid-name`).toBeTruthy();
              expect(JSON.stringify(ops.slice(i + 1))).toContain(`["named-uuid","${name}"]`);
            } else if (op.table !== "Port_Group") {
              // Tables without a unique name index: the insert is guarded by a wait on the name.
              expect(ops.slice(0, i).some((w) => w.op === "wait" && w.table === op.table && (w.rows as unknown[]).length === 0)).toBe(true);
            }
          }
        }
      }
    }), { numRuns: 300 });
  });
});
