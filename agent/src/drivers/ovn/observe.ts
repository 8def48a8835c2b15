/**
 * Reads the Northbound tables the driver manages. All selects go in ONE transaction, so the
 * snapshot is consistent: a switch and the ports it references are read at the same instant,
 * never half before and half after someone's ovn-nbctl call.
 */
import type { NbSnapshot } from "./nb.ts";
import { NB_DB, NB_TABLE_KEYS, NB_TABLES } from "./nb.ts";
import type { Json } from "./datum.ts";
import type { OvsdbClient, RequestOptions } from "./ovsdb.ts";

export async function readSnapshot(client: OvsdbClient, ro: RequestOptions = {}): Promise<NbSnapshot> {
  const ops = NB_TABLE_KEYS.map((k) => ({ op: "select", table: NB_TABLES[k].table, where: [], columns: [...NB_TABLES[k].columns] }));
  const results = await client.transact(NB_DB, ops, { idempotent: true, ...ro });
  const rowsOf = (i: number) => ((results[i] as { rows?: Record<string, Json>[] } | null)?.rows) ?? [];
  const snap = {} as Record<string, unknown[]>;
  NB_TABLE_KEYS.forEach((k, i) => {
    const decode = NB_TABLES[k].decode as (r: Record<string, Json>) => unknown;
    snap[k] = rowsOf(i).map(decode);
  });
  return snap as unknown as NbSnapshot;
}
