import type { Logger } from "pino";
import { HubError } from "@outpost/shared";
import type { Store } from "../store/db.ts";
import { KV, kvSet } from "../store/kv.ts";

/**
 * How the agent's last exchanges with the hub went, kept in the state file so the technician's
 * `outpost agent status` can say "hub down since 10:02 (ECONNREFUSED ...)" while the hub cannot be
 * asked. Written only on a change (ok -> down, down -> ok, another kind of failure), so an outage of
 * hours costs one row update, not one per retry.
 *
 * - `ok`: the last exchange worked.
 * - `down`: no usable answer: cannot connect, name does not resolve, timeout, answer cut short, 5xx.
 * - `refused`: the hub answered no (4xx: pending approval, revoked, a request token it will not take).
 */
export type HubLinkState = "ok" | "down" | "refused";
export interface HubLinkRecord {
  state: HubLinkState;
  /** When the current state (or, while failing, the current kind of failure) began. */
  since: string;
  /** The last answer of any kind the hub gave this process (null: none yet). */
  lastContactAt: string | null;
  problem?: { code: string; message: string };
}

export class HubLink {
  private current: HubLinkRecord | null = null;
  private lastContact: Date | null = null;

  constructor(private readonly o: { store: Store; log: Logger }) {}

  ok(now = new Date()): void {
    this.lastContact = now;
    if (this.current?.state === "ok") return;
    this.save({ state: "ok", since: now.toISOString(), lastContactAt: now.toISOString() });
  }

  failed(e: unknown, now = new Date()): void {
    const refused = e instanceof HubError && e.status > 0 && !e.transient;
    if (e instanceof HubError && e.status > 0) this.lastContact = now;
    const code = e instanceof HubError ? e.code : (e as Error)?.name ?? "Error";
    const state: HubLinkState = refused ? "refused" : "down";
    if (this.current?.state === state && this.current.problem?.code === code) return;
    this.save({ state, since: now.toISOString(), lastContactAt: this.lastContact?.toISOString() ?? null, problem: { code, message: String((e as Error)?.message ?? e).slice(0, 512) } });
  }

  private save(rec: HubLinkRecord): void {
    this.current = rec;
    // Best effort: a state file that cannot take the row (disk full) must not fail the exchange.
    void this.o.store.write([kvSet(KV.hubLink, rec)]).catch((err: unknown) => this.o.log.debug({ err: (err as Error).message }, "could not record the hub link state"));
  }
}
