/**
 * The real OVN driver: reconciles the spec's logical switches, ports, routers, port groups (with
 * their ACLs) and DHCP options into an OVN Northbound database over OVSDB (RFC 7047).
 *
 * Ownership: every row it creates carries external_ids:outpost-owned=true; only such rows are ever
 * changed or deleted (see txn.ts). ovn-northd, which turns NB into SB flows, is not this driver's
 * business: it only needs to be running somewhere for the network to work.
 */
import type { Spec } from "@outpost/shared";
import type { Logger } from "pino";
import type { Driver, Step } from "../types.ts";
import { applyStep } from "./apply.ts";
import { normalize, type OvnObserved } from "./normalize.ts";
import { readSnapshot } from "./observe.ts";
import { OvsdbClient } from "./ovsdb.ts";
import { planOvn } from "./plan.ts";

export interface OvnDriverOptions {
  /** The Northbound database: `unix:/path/ovnnb_db.sock` or `tcp:127.0.0.1:6641`. */
  remote: string;
  log?: Pick<Logger, "debug" | "info" | "warn">;
  /** Per OVSDB request (default 10 s). */
  requestTimeoutMs?: number;
}

export interface OvnDriver extends Driver<OvnObserved> {
  /** Drops the OVSDB connection (the next call reconnects). */
  close(): void;
}

export function createOvnDriver(opts: OvnDriverOptions): OvnDriver {
  const client = new OvsdbClient({ remote: opts.remote, requestTimeoutMs: opts.requestTimeoutMs, log: opts.log });
  return {
    name: "ovn",
    async observe() {
      return normalize(await readSnapshot(client));
    },
    plan(desired: Spec, observed: OvnObserved): Step[] {
      return planOvn(desired, observed);
    },
    async apply(step: Step, signal?: AbortSignal) {
      const { ops } = await applyStep(client, step, signal);
      opts.log?.debug({ step: step.id, ops }, ops ? "OVN step applied" : "OVN step: nothing to change");
    },
    metrics(observed: OvnObserved) {
      const m: Record<string, number> = {};
      for (const o of observed.objects) {
        m[`${o.kind}.count`] = (m[`${o.kind}.count`] ?? 0) + 1;
        if (o.owner === "outpost") m[`${o.kind}.owned`] = (m[`${o.kind}.owned`] ?? 0) + 1;
      }
      return m;
    },
    close: () => client.close(),
  };
}
