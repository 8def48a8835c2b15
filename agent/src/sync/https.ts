import type { Logger } from "pino";
import { HubError, type AgentClient } from "@outpost/shared";
import { isAbortError, sleep } from "../lib/sleep.ts";
import { backoffDelay, type BackoffPolicy } from "./backoff.ts";

/**
 * The HTTPS transport (DESIGN §3): the agent dials out and long-polls GET /agent/v1/bundle with the
 * highest version it has accepted; the hub answers at once with a newer bundle or 204 after `wait`
 * seconds. Whatever comes back goes through the same BundleIntake as any other transport.
 *
 * The loop never gives up: the hub being down, slow, or refusing us (pending approval, revoked)
 * only changes how long it waits (exponential backoff with full jitter). Meanwhile the reconciler
 * keeps enforcing the last good bundle.
 */
export interface HttpsSyncDeps {
  client: Pick<AgentClient, "bundle">;
  /** BundleIntake, or a wrapper of it (serialIntake: "held" = already had it, not news). */
  intake: { receive(jws: string, source: string): Promise<{ kind: string }> };
  /** The highest accepted bundle version (the `known` the hub compares against). */
  knownVersion: () => Promise<number>;
  /** Makes sure the site is enrolled; throws while it cannot be (retried with backoff). */
  ensureEnrolled: () => Promise<unknown>;
  longPollSeconds: number;
  /** Used instead of a long-poll wait when longPollSeconds is 0 (plain polling). */
  pollIntervalSeconds: () => Promise<number>;
  backoff: BackoffPolicy;
  log: Logger;
  signal: AbortSignal;
  /** Reports that the hub says the site waits for approval (true) or is past that (false). */
  onApproval?: (pending: boolean) => void;
}

/** A 204 answered faster than this is not really long-polling: pace the loop so it cannot spin. */
const MIN_CYCLE_MS = 1000;
const PENDING_CAP_MS = 15_000;

export class HttpsSync {
  private attempt = 0;
  private enrolled = false;
  private said = new Set<string>();
  /** Local failures said once (the state file refusing writes...), forgotten after a cycle that worked. */
  private saidLocal = new Set<string>();
  private running: Promise<void> | null = null;

  constructor(private readonly d: HttpsSyncDeps) {}

  start(): Promise<void> {
    this.running ??= this.loop();
    return this.running;
  }

  async stopped(): Promise<void> { await this.running; }

  /** Logs a condition once until it clears, so an outage of hours is one line, not thousands. */
  private once(key: string, fn: () => void): void {
    if (!this.said.has(key)) { this.said.add(key); fn(); }
  }
  private clearAll(): void {
    if (this.said.has("unreachable")) this.d.log.info("hub reachable again");
    this.said.clear();
  }

  private async loop(): Promise<void> {
    const { signal, log } = this.d;
    while (!signal.aborted) {
      let delay = 0;
      try {
        if (!this.enrolled) {
          await this.d.ensureEnrolled();
          this.enrolled = true;
        }
        const known = await this.d.knownVersion();
        const wait = this.d.longPollSeconds;
        const started = Date.now();
        // The client gives up after wait + hubTimeoutSeconds (a TIMEOUT, retried like an unreachable hub).
        const answer = await this.d.client.bundle(known, wait, signal);
        this.clearAll();
        this.d.onApproval?.(false);
        this.attempt = 0;
        if (answer.status === 204) {
          const elapsed = Date.now() - started;
          delay = wait === 0 ? (await this.d.pollIntervalSeconds()) * 1000 : Math.max(0, MIN_CYCLE_MS - elapsed);
        } else {
          const outcome = await this.d.intake.receive(answer.jws, "https");
          // A refused bundle will be offered again at once (the hub still has it): back off.
          if (outcome.kind === "rejected") delay = backoffDelay(this.attempt++, this.d.backoff);
        }
        this.saidLocal.clear();
      } catch (e) {
        if (signal.aborted) break;
        // Waiting for approval is not an outage: poll at most every 15 s so approval takes effect soon.
        const pending = e instanceof HubError && e.code === "AUTH_SITE_PENDING";
        const policy = pending ? { ...this.d.backoff, capMs: Math.min(this.d.backoff.capMs, PENDING_CAP_MS) } : this.d.backoff;
        delay = backoffDelay(this.attempt++, policy);
        this.explain(e, delay);
      }
      if (delay > 0 && !(await sleep(delay, signal))) break;
    }
    log.debug("https sync stopped");
  }

  private explain(e: unknown, delay: number): void {
    const log = this.d.log;
    if (e instanceof HubError && e.code === "AUTH_SITE_PENDING") {
      this.d.onApproval?.(true);
      this.once("pending", () => log.info("waiting for an operator to approve this site on the hub (outpost site approve); polling meanwhile"));
    } else if (e instanceof HubError && e.code === "AUTH_SITE_REVOKED") {
      this.once("revoked", () => log.error("the hub has revoked this site; still enforcing the last good bundle and polling in case it is restored"));
    } else if ((e as { permanent?: boolean }).permanent) {
      this.once(`permanent:${(e as Error).message}`, () => log.error((e as Error).message));
    } else if ((e instanceof HubError && e.transient) || isAbortError(e) || (e as Error).name === "TimeoutError") {
      this.once("unreachable", () => log.warn({ retryInMs: delay }, `hub unavailable, retrying with backoff: ${(e as Error).message}`));
    } else if (e instanceof HubError) {
      this.once(`refused:${e.code}`, () => log.error({ code: e.code, status: e.status }, `hub refused the request: ${e.message}`));
    } else {
      // A local failure (the state file refusing writes, say) repeats on every retry: say it once until it clears.
      const err = (e as Error).message;
      if (!this.saidLocal.has(err)) { this.saidLocal.add(err); log.error({ err }, "sync error"); }
    }
  }
}
