/**
 * Applies one step: read a fresh snapshot, build the step's single transaction (txn.ts), send it.
 * Reading afresh (not reusing what observe() saw) is what makes a retried or late step safe: the
 * transaction is built against the database as it is now, and its `wait` guards abort it if the
 * rows it relies on change between the read and the commit.
 */
import type { Step } from "../types.ts";
import { NB_DB } from "./nb.ts";
import { readSnapshot } from "./observe.ts";
import { OvsdbTransactionError, type OvsdbClient } from "./ovsdb.ts";
import { buildTransaction, type Txn } from "./txn.ts";

/** A step's transaction was refused by the server; `cause` is the OvsdbTransactionError. */
export class OvnApplyError extends Error {
  constructor(message: string, override readonly cause: unknown) {
    super(message);
    this.name = "OvnApplyError";
  }
}

export async function applyStep(client: OvsdbClient, step: Step, signal?: AbortSignal): Promise<{ ops: number }> {
  if (signal?.aborted) throw Object.assign(new Error(`apply of ${step.id} abandoned (agent stopping)`), { name: "AbortError" });
  const txn = buildTransaction(step, await readSnapshot(client, { signal }));
  await sendTransaction(client, step, txn, signal);
  return { ops: txn.ops.length };
}

/** Sends a step's transaction; a refusal is reported in the step's terms (what the failed guard meant). */
export async function sendTransaction(client: OvsdbClient, step: Step, txn: Txn, signal?: AbortSignal): Promise<void> {
  if (txn.ops.length === 0) return;
  // The comment lands in the database's transaction log, so `ovsdb-tool show-log` says who did what.
  const ops = [{ op: "comment", comment: `outpost ${step.id}` }, ...txn.ops];
  try {
    await client.transact(NB_DB, ops, { signal });
  } catch (e) {
    if (!(e instanceof OvsdbTransactionError)) throw e;
    const why = e.opIndex >= 1 ? txn.why[e.opIndex - 1] : undefined;
    const dup = e.error === "constraint violation" && /duplicate|index/i.test(e.details ?? "");
    const msg = why ?? (dup ? `a row with the same name already exists (${e.details})` : e.message);
    throw new OvnApplyError(`${step.action} ${step.kind} ${step.name}: ${msg}`, e);
  }
}
