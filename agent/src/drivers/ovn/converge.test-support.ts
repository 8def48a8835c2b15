/** Helpers for the OVN driver's tests against a real Northbound ovsdb-server. */
import type { Spec } from "@outpost/shared";
import type { Driver, Step } from "../types.ts";
import { isOwned, NB_DB, type NbSnapshot } from "./nb.ts";
import { readSnapshot } from "./observe.ts";
import type { OvsdbClient } from "./ovsdb.ts";

/** What the next pass would do. */
export async function planNow<O>(driver: Driver<O>, spec: Spec): Promise<string[]> {
  return driver.plan(spec, await driver.observe()).map((s) => s.id);
}

/** Empties the database: deleting the root rows lets the server collect everything they hold. */
export async function resetNb(client: OvsdbClient): Promise<void> {
  await client.transact(NB_DB, ["Logical_Switch", "Logical_Router", "Port_Group", "DHCP_Options"].map((table) => ({ op: "delete", table, where: [] })));
}

/** Every row Outpost does not own, by table, exactly as read: to prove none was touched. */
export async function foreignRows(client: OvsdbClient): Promise<Partial<NbSnapshot>> {
  const snap = await readSnapshot(client);
  const out: Record<string, unknown[]> = {};
  for (const [k, rows] of Object.entries(snap) as [string, { externalIds: Record<string, string> }[]][]) {
    out[k] = rows.filter((r) => !isOwned(r)).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
  }
  return out as Partial<NbSnapshot>;
}
