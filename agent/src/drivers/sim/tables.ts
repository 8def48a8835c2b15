import type { Db, InStatement } from "../../store/sqlite.ts";
import { driverOfKind } from "../kinds.ts";
import type { DriverName } from "../types.ts";
import { OUTPOST_OWNER, type SimObject } from "../objects/desired.ts";

/**
 * SIMULATION storage: the simulated LXD, OVN, Ceph and host live in the agent's state file, one
 * table per driver (sim_lxd, sim_ovn, sim_ceph, sim_host), one row per object. `sim_faults` lists
 * object names whose apply fails (fault injection that can be changed while the agent runs).
 */
export const SIM_TABLES: Record<DriverName, string> = { lxd: "sim_lxd", ovn: "sim_ovn", ceph: "sim_ceph", host: "sim_host" };

export const SIM_SCHEMA: string[] = [
  ...Object.values(SIM_TABLES).map((t) => `CREATE TABLE IF NOT EXISTS ${t} (
     kind TEXT NOT NULL,
     name TEXT NOT NULL,
     fields TEXT NOT NULL,
     owner TEXT NOT NULL DEFAULT '${OUTPOST_OWNER}',
     updated_at TEXT NOT NULL,
     PRIMARY KEY (kind, name)
   )`),
  `CREATE TABLE IF NOT EXISTS sim_faults (name TEXT PRIMARY KEY)`,
];

export function tableOfKind(kind: string): string {
  const d = driverOfKind(kind);
  if (!d) throw new Error(`unknown object kind ${JSON.stringify(kind)} (expected ceph.*, ovn.*, lxd.* or host.*)`);
  return SIM_TABLES[d];
}

export async function readSimRows(db: Pick<Db, "execute">, driver: DriverName): Promise<SimObject[]> {
  const rs = await db.execute(`SELECT kind, name, fields, owner FROM ${SIM_TABLES[driver]} ORDER BY kind, name`);
  return rs.rows.map((r) => ({ kind: String(r.kind), name: String(r.name), fields: JSON.parse(String(r.fields)) as Record<string, unknown>, owner: String(r.owner) }));
}

/** Writes an Outpost-owned row; a row someone else owns is left as it is (the WHERE on the upsert). */
export function upsertOwned(kind: string, name: string, fields: unknown, now = new Date()): InStatement {
  const t = tableOfKind(kind);
  return {
    sql: `INSERT INTO ${t} (kind, name, fields, owner, updated_at) VALUES (?, ?, ?, '${OUTPOST_OWNER}', ?)
          ON CONFLICT (kind, name) DO UPDATE SET fields = excluded.fields, updated_at = excluded.updated_at
          WHERE ${t}.owner = '${OUTPOST_OWNER}'`,
    args: [kind, name, JSON.stringify(fields ?? {}), now.toISOString()],
  };
}

export function deleteOwned(kind: string, name: string): InStatement {
  return { sql: `DELETE FROM ${tableOfKind(kind)} WHERE kind = ? AND name = ? AND owner = '${OUTPOST_OWNER}'`, args: [kind, name] };
}

export async function faultNames(db: Pick<Db, "execute">): Promise<Set<string>> {
  const rs = await db.execute("SELECT name FROM sim_faults");
  return new Set(rs.rows.map((r) => String(r.name)));
}
