/**
 * Helpers to look at and tamper with a SIMULATED site from outside the agent, the way another
 * process would: each call opens the site's state file, reads or writes, and closes it. Tests (and
 * later the CLI) use them to inflict drift (delete an object, stop an instance, change a field),
 * plant objects Outpost does not own, or inject faults, then watch the agent heal.
 */
import type { Db } from "../../store/sqlite.ts";
import { withStateFile } from "../../store/db.ts";
import { DRIVER_ORDER } from "../types.ts";
import { OUTPOST_OWNER } from "../objects/desired.ts";
import { SIM_SCHEMA, SIM_TABLES, tableOfKind } from "./tables.ts";

export interface SimRow { kind: string; name: string; fields: Record<string, unknown>; owner: string; updatedAt: string }

export async function withSimWorld<T>(stateDir: string, fn: (db: Db) => Promise<T>): Promise<T> {
  return withStateFile(stateDir, async (db) => {
    // Only a file from before the sim tables existed needs them; reads should not take the write lock.
    const have = await db.execute("SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name LIKE 'sim\\_%' ESCAPE '\\'");
    if (Number(have.rows[0]?.n ?? 0) < SIM_SCHEMA.length) await db.batch(SIM_SCHEMA, "write");
    return fn(db);
  });
}

const toRow = (r: Record<string, unknown>): SimRow => ({
  kind: String(r.kind), name: String(r.name), fields: JSON.parse(String(r.fields)) as Record<string, unknown>,
  owner: String(r.owner), updatedAt: String(r.updated_at),
});

/** Every simulated object (optionally only one kind, e.g. "lxd.instance"), sorted by kind then name. */
export async function listSimObjects(stateDir: string, kind?: string): Promise<SimRow[]> {
  return withSimWorld(stateDir, async (db) => {
    const tables = kind ? [tableOfKind(kind)] : DRIVER_ORDER.map((d) => SIM_TABLES[d]);
    const out: SimRow[] = [];
    for (const t of tables) {
      const rs = kind
        ? await db.execute({ sql: `SELECT * FROM ${t} WHERE kind = ? ORDER BY name`, args: [kind] })
        : await db.execute(`SELECT * FROM ${t} ORDER BY kind, name`);
      out.push(...rs.rows.map((r) => toRow(r as unknown as Record<string, unknown>)));
    }
    return out;
  });
}

export async function getSimObject(stateDir: string, kind: string, name: string): Promise<SimRow | null> {
  return withSimWorld(stateDir, async (db) => {
    const rs = await db.execute({ sql: `SELECT * FROM ${tableOfKind(kind)} WHERE kind = ? AND name = ?`, args: [kind, name] });
    return rs.rows[0] ? toRow(rs.rows[0] as unknown as Record<string, unknown>) : null;
  });
}

/** Drift: the object disappears (someone ran `lxc delete`). Returns whether it existed. */
export async function deleteSimObject(stateDir: string, kind: string, name: string): Promise<boolean> {
  return withSimWorld(stateDir, async (db) => {
    const rs = await db.execute({ sql: `DELETE FROM ${tableOfKind(kind)} WHERE kind = ? AND name = ?`, args: [kind, name] });
    return rs.rowsAffected > 0;
  });
}

/** Drift: one field of an object changes (`value` undefined removes it). Returns whether the object exists. */
export async function setSimField(stateDir: string, kind: string, name: string, field: string, value: unknown): Promise<boolean> {
  return withSimWorld(stateDir, async (db) => {
    const t = tableOfKind(kind);
    const rs = await db.execute({ sql: `SELECT fields FROM ${t} WHERE kind = ? AND name = ?`, args: [kind, name] });
    const row = rs.rows[0];
    if (!row) return false;
    const fields = JSON.parse(String(row.fields)) as Record<string, unknown>;
    if (value === undefined) delete fields[field]; else fields[field] = value;
    await db.execute({ sql: `UPDATE ${t} SET fields = ?, updated_at = ? WHERE kind = ? AND name = ?`, args: [JSON.stringify(fields), new Date().toISOString(), kind, name] });
    return true;
  });
}

/** Drift: an instance is stopped (or started) behind the agent's back. */
export const setSimInstanceState = (stateDir: string, name: string, state: "running" | "stopped") =>
  setSimField(stateDir, "lxd.instance", name, "state", state);
export const stopSimInstance = (stateDir: string, name: string) => setSimInstanceState(stateDir, name, "stopped");
export const startSimInstance = (stateDir: string, name: string) => setSimInstanceState(stateDir, name, "running");

/** Creates or replaces an object; with an owner other than "outpost" the agent must leave it alone. */
export async function putSimObject(stateDir: string, o: { kind: string; name: string; fields?: Record<string, unknown>; owner?: string }): Promise<void> {
  await withSimWorld(stateDir, async (db) => {
    await db.execute({
      sql: `INSERT INTO ${tableOfKind(o.kind)} (kind, name, fields, owner, updated_at) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT (kind, name) DO UPDATE SET fields = excluded.fields, owner = excluded.owner, updated_at = excluded.updated_at`,
      args: [o.kind, o.name, JSON.stringify(o.fields ?? {}), o.owner ?? OUTPOST_OWNER, new Date().toISOString()],
    });
  });
}

/** Replaces the set of object names whose apply fails (in addition to OUTPOST_SIM_FAIL); [] clears it. */
export async function setSimFaults(stateDir: string, names: readonly string[]): Promise<void> {
  await withSimWorld(stateDir, async (db) => {
    await db.batch([{ sql: "DELETE FROM sim_faults", args: [] }, ...names.map((n) => ({ sql: "INSERT OR IGNORE INTO sim_faults (name) VALUES (?)", args: [n] }))], "write");
  });
}

/** Object counts per kind, e.g. {"lxd.instance": 3, "ovn.switch": 1}. */
export async function simSummary(stateDir: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const r of await listSimObjects(stateDir)) out[r.kind] = (out[r.kind] ?? 0) + 1;
  return out;
}
