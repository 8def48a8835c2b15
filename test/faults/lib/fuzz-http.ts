import { expect } from "vitest";
import type { HubDb } from "@outpost/hub/db/client";
import { snapshotDb } from "@outpost/hub/test-support/harness";

/**
 * Sends fuzzed requests to a real hub over HTTP and checks, for every one of them, the promises of
 * issue 7: never a 5xx, and a refused request (4xx) changes nothing in the database (every table,
 * every row, hashed before and after). Counts what it did for the report. The hub must have no
 * background writer of its own while this runs (rollout ticks off, no broker), so a difference
 * can only come from the request.
 */
export interface FuzzRequest {
  method: string;
  /** Absolute path, already encoded (the query string too, if any). */
  path: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
}

export interface FuzzAnswer { status: number; text: string }

type Snapshot = Awaited<ReturnType<typeof snapshotDb>>;

export class HttpFuzzer {
  /** Requests sent, by status. */
  readonly statuses = new Map<number, number>();
  inputs = 0;
  serverErrors = 0;
  refused = 0;
  /** Refused requests after which the database was compared with its state before (all of them). */
  refusedChecked = 0;
  /** Requests that changed the database and were refused: must stay 0. */
  refusedThatWrote = 0;
  #last: Snapshot | null = null;
  #previous = "nothing";

  constructor(
    private readonly baseUrl: string,
    private readonly db: HubDb,
    private readonly ignore: Parameters<typeof snapshotDb>[1] = {},
    /** Bodies held open by design (event streams) are cut this long after their headers came. */
    private readonly bodyTimeoutMs = 5000,
  ) {}

  /** After the test itself wrote to the database between requests: compare the next one with now. */
  async rebase(): Promise<void> { this.#last = await snapshotDb(this.db, this.ignore); }

  async send(req: FuzzRequest): Promise<FuzzAnswer> {
    this.#last ??= await snapshotDb(this.db, this.ignore);
    const what = `${req.method} ${req.path.slice(0, 300)} ${JSON.stringify(req.headers)} (body ${describeBody(req.body)})`;
    let answer: FuzzAnswer;
    try { answer = await this.#fetch(req); } catch (e) {
      // The previous request is named too: a connection it left broken shows up here.
      throw new Error(`${what} got no answer (after ${this.#previous}): ${(e as Error).message}: ${String((e as { cause?: unknown }).cause)}`, { cause: e });
    }
    this.#previous = `${what} -> ${answer.status}`;
    this.inputs++;
    this.statuses.set(answer.status, (this.statuses.get(answer.status) ?? 0) + 1);
    const after = await snapshotDb(this.db, this.ignore);
    const before = this.#last;
    this.#last = after;
    if (answer.status >= 500) {
      this.serverErrors++;
      throw new Error(`${what} -> ${answer.status}: ${answer.text.slice(0, 500)}`);
    }
    if (answer.status >= 400) {
      this.refused++;
      this.refusedChecked++;
      const changed = Object.keys({ ...before, ...after }).filter((t) => JSON.stringify(before[t]) !== JSON.stringify(after[t]));
      if (changed.length) {
        this.refusedThatWrote++;
        throw new Error(`${what} was refused (${answer.status}: ${answer.text.slice(0, 300)}) but changed table(s) ${changed.join(", ")}`);
      }
    }
    return answer;
  }

  async #fetch(req: FuzzRequest): Promise<FuzzAnswer> {
    const ctl = new AbortController();
    // A hub that does not answer at all is a finding too: give it long enough for a loaded machine.
    let timer = setTimeout(() => ctl.abort(new Error("no answer within 30 s")), 30_000);
    try {
      const body = typeof req.body === "string" || req.body === undefined ? req.body : new Uint8Array(req.body);
      const res = await fetch(this.baseUrl + req.path, { method: req.method, headers: req.headers, body, signal: ctl.signal });
      clearTimeout(timer);
      timer = setTimeout(() => ctl.abort(), this.bodyTimeoutMs);
      let text = "";
      try { text = await res.text(); } catch { /* a held stream cut by the timeout: the status is what counts */ }
      return { status: res.status, text };
    } finally {
      clearTimeout(timer);
    }
  }

  /** A status histogram for the report, e.g. "200: 12, 400: 301, 404: 17". */
  histogram(): string {
    return [...this.statuses.entries()].sort(([a], [b]) => a - b).map(([s, n]) => `${s}: ${n}`).join(", ");
  }

  /** What every fuzz file ends by checking: each planned input sent, no 5xx, no refusal that wrote. */
  expectClean(plannedInputs: number): void {
    expect({ inputs: this.inputs, serverErrors: this.serverErrors, refusedThatWrote: this.refusedThatWrote })
      .toEqual({ inputs: plannedInputs, serverErrors: 0, refusedThatWrote: 0 });
  }

  /** The figures every fuzz case reports. */
  figures(): Record<string, number | string> {
    return {
      "inputs tried": this.inputs, "answers by status": this.histogram(), "refused (4xx)": this.refused,
      "refused requests that changed the DB": this.refusedThatWrote, "5xx seen": this.serverErrors,
    };
  }
}

function describeBody(b: FuzzRequest["body"]): string {
  if (b === undefined) return "none";
  if (typeof b !== "string") return `${b.byteLength} bytes`;
  return b.length > 200 ? `${b.length} chars: ${b.slice(0, 200)}...` : b;
}

/** Counts unhandled rejections in this process while a fuzz file runs (vitest would also fail the run). */
export function watchUnhandled(): { count: () => number; errors: unknown[]; stop: () => void } {
  const errors: unknown[] = [];
  const on = (e: unknown) => { errors.push(e); };
  process.on("unhandledRejection", on);
  return { count: () => errors.length, errors, stop: () => { process.off("unhandledRejection", on); } };
}

/** The seed every fuzz property runs with: fixed, so a failure reproduces; OUTPOST_FUZZ_SEED tries another. */
export const FUZZ_SEED = Number(process.env.OUTPOST_FUZZ_SEED ?? 20261207);
