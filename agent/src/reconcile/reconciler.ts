import type { Logger } from "pino";
import type { BundlePayload, SiteState } from "@outpost/shared";
import type { Driver, Step } from "../drivers/types.ts";
import { canonicalJson, sha256Hex } from "../lib/canonical-json.ts";
import { Mutex } from "../lib/mutex.ts";
import { isAbortError, sleep } from "../lib/sleep.ts";
import { Wakeup } from "../lib/wakeup.ts";
import type { Events } from "../report/events.ts";
import { appliedRecord } from "../store/applied.ts";
import { currentBundle, type StoredBundle } from "../store/bundles.ts";
import type { Store } from "../store/db.ts";
import { journalAppend } from "../store/journal.ts";
import { KV, kvSet } from "../store/kv.ts";
import { backoffDelay, type BackoffPolicy } from "../sync/backoff.ts";
import { blockedBy } from "./blocking.ts";
import { disruptionAllowed } from "./maintenance.ts";
import { orderSteps } from "./order.ts";
import { Quarantine } from "./quarantine.ts";
import { isStale, readReconcileRecord, type ReconcileRecord } from "./record.ts";

/**
 * The agent loop of DESIGN §4: observe every driver, plan against the last good bundle, order the
 * steps, apply them one by one with retries, record and report. It runs when a new bundle arrives,
 * on every heal tick (drift found then is repaired and reported as drift-healed), and when a
 * quarantined step is due again. Runs are serialised; it needs nothing from the hub.
 */
export interface ReconcilerDeps {
  store: Store;
  drivers: readonly Driver[];
  events: Events;
  log: Logger;
  signal: AbortSignal;
  /** Overrides the bundle's spec.agent.healIntervalSeconds. */
  healIntervalSeconds?: number;
  stepMaxAttempts: number;
  stepRetry: BackoffPolicy;
  quarantine: { baseMs: number; capMs: number };
  /** After a run that changed something (status/telemetry go out right away). */
  onChanged?: () => void;
}

export interface RunResult {
  kind: "idle" | "apply" | "heal";
  bundleVersion: number | null;
  steps: number;
  done: number;
  pending: number;
  aborted: boolean;
}

type Attempt = "done" | "failed" | "aborted";

const DEFAULT_HEAL_S = 60;

export class Reconciler {
  private readonly wake = new Wakeup();
  private readonly mutex = new Mutex();
  private readonly quarantine: Quarantine;
  private running: Promise<void> | null = null;
  private healMs = DEFAULT_HEAL_S * 1000;
  /** Disruptive steps currently waiting for a maintenance window (journaled once, not every tick). */
  private deferred = new Set<string>();
  private lastError = "";

  constructor(private readonly d: ReconcilerDeps) {
    this.quarantine = new Quarantine(d.quarantine);
  }

  /** Ask for a run as soon as possible (a new bundle arrived). */
  kick(): void { this.wake.kick(); }

  start(): Promise<void> {
    this.running ??= this.loop();
    return this.running;
  }

  async stopped(): Promise<void> { await this.running; }

  private async loop(): Promise<void> {
    while (!this.d.signal.aborted) {
      try {
        await this.runOnce();
        this.lastError = "";
      } catch (e) {
        if (this.d.signal.aborted) break;
        const err = (e as Error).message;
        // Once per kind of failure: a full state directory fails every heal tick the same way.
        if (err !== this.lastError) this.d.log.error({ err }, "reconcile run failed");
        this.lastError = err;
      }
      const now = Date.now();
      const release = this.quarantine.nextRelease(now);
      const next = release === null ? this.healMs : Math.min(this.healMs, Math.max(0, release - now) + 10);
      if ((await this.wake.wait(next, this.d.signal)) === "abort") break;
    }
  }

  /** One reconcile run, never concurrent with another. */
  runOnce(): Promise<RunResult> {
    return this.mutex.run(() => this.run());
  }

  private async writeRecord(rec: ReconcileRecord): Promise<void> {
    await this.d.store.write([kvSet(KV.reconcile, rec)]);
  }

  private async run(): Promise<RunResult> {
    const { store, drivers, events, log } = this.d;
    const bundle = await currentBundle(store.db);
    let rec = await readReconcileRecord(store.db);
    if (!bundle) {
      if (rec.state !== "pending") await this.writeRecord({ ...rec, state: "pending" });
      return { kind: "idle", bundleVersion: null, steps: 0, done: 0, pending: 0, aborted: false };
    }
    const spec = bundle.payload.spec;
    this.healMs = (this.d.healIntervalSeconds ?? spec.agent.healIntervalSeconds ?? DEFAULT_HEAL_S) * 1000;
    const now = new Date();

    if (isStale(bundle.payload.expiresAt, now) && rec.staleVersion !== bundle.version) {
      rec = { ...rec, staleVersion: bundle.version };
      await events.emit({
        type: "stale", severity: "warning", bundleVersion: bundle.version,
        message: `bundle v${bundle.version} expired at ${bundle.payload.expiresAt} and no newer one could be had; still enforcing it`,
        details: { expiresAt: bundle.payload.expiresAt },
      }, [kvSet(KV.reconcile, rec)]);
    }

    const isApply = rec.appliedVersion !== bundle.version;
    const observed: unknown[] = [];
    for (const drv of drivers) observed.push(await drv.observe());
    const steps = orderSteps(drivers.flatMap((drv, i) => drv.plan(spec, observed[i])));
    this.quarantine.retain(new Set(steps.map((s) => s.id)));
    const kind = isApply ? "apply" : "heal";

    if (steps.length === 0) {
      if (isApply) await this.finishApply(bundle, rec, 0, now.getTime());
      else if (rec.state !== "in-sync" || rec.pendingSteps !== 0) {
        await this.writeRecord({ ...rec, state: "in-sync", pendingSteps: 0, lastRunAt: now.toISOString(), message: undefined });
      }
      return { kind, bundleVersion: bundle.version, steps: 0, done: 0, pending: 0, aborted: false };
    }

    log.info({ bundleVersion: bundle.version, steps: steps.length }, isApply ? `applying bundle v${bundle.version}` : "drift found, healing");
    if (isApply) await this.writeRecord({ ...rec, state: "applying", pendingSteps: steps.length, lastRunAt: now.toISOString() });

    const done: Step[] = [];
    const failed: Step[] = []; // failed now, held in quarantine, or deferred: later dependents wait
    const newlyFailed: Step[] = [];
    let held = 0;
    const deferred = new Set<string>();
    const mayDisrupt = disruptionAllowed(spec.agent.maintenanceWindows, now);
    let aborted = false;
    for (const step of steps) {
      if (this.d.signal.aborted) { aborted = true; break; }
      if (this.quarantine.isHeld(step.id, Date.now())) { failed.push(step); held++; continue; }
      if (step.disruptive && !mayDisrupt) {
        failed.push(step);
        deferred.add(step.id);
        if (!this.deferred.has(step.id)) await store.write([journalAppend("step-skipped", { step: step.id, reason: "waiting for a maintenance window" })]);
        continue;
      }
      const blocker = blockedBy(step, failed);
      if (blocker) {
        await store.write([journalAppend("step-skipped", { step: step.id, blockedBy: blocker.id })]);
        continue;
      }
      const r = await this.applyWithRetries(step, bundle.version);
      if (r === "aborted") { aborted = true; break; }
      if (r === "done") done.push(step);
      else { failed.push(step); newlyFailed.push(step); }
    }
    this.deferred = deferred;
    const pending = steps.length - done.length;
    const waitNote = deferred.size ? `${deferred.size} disruptive steps wait for a maintenance window` : undefined;
    await store.write([journalAppend("reconcile-run", { kind, bundleVersion: bundle.version, steps: steps.length, done: done.length, pending, aborted })]);
    if (aborted) return { kind, bundleVersion: bundle.version, steps: steps.length, done: done.length, pending, aborted };

    if (!isApply) {
      for (const s of done) {
        await events.emit({
          type: "drift-healed", severity: "warning", bundleVersion: bundle.version,
          message: `drift repaired: ${s.action} ${s.kind} ${s.name}`,
          details: { kind: s.kind, name: s.name, action: s.action, before: s.before ?? null, after: s.after ?? null },
        });
      }
      for (const s of newlyFailed) {
        await events.emit({
          type: "heal-failed", severity: "error", bundleVersion: bundle.version,
          message: `could not repair drift: ${s.action} ${s.kind} ${s.name}`,
          details: { kind: s.kind, name: s.name, action: s.action, before: s.before ?? null, after: s.after ?? null, error: this.quarantine.isHeld(s.id, Date.now())?.lastError },
        });
      }
    }

    rec = await readReconcileRecord(store.db); // events above may have advanced it (stale)
    if (isApply && pending === 0) {
      await this.finishApply(bundle, rec, steps.length, now.getTime());
    } else if (isApply && newlyFailed.length === 0 && held === 0) {
      // Nothing failed: what is left waits for a maintenance window. Still applying, not failed.
      await this.writeRecord({ ...rec, state: "applying", pendingSteps: pending, lastRunAt: new Date().toISOString(), message: waitNote });
    } else if (isApply) {
      const state: SiteState = "failed";
      const next = { ...rec, state, pendingSteps: pending, lastRunAt: new Date().toISOString(), message: [`${pending} of ${steps.length} steps not applied`, waitNote].filter(Boolean).join("; ") };
      if (rec.applyFailedVersion !== bundle.version) {
        await events.emit({
          type: "apply-failed", severity: "error", bundleVersion: bundle.version,
          message: `bundle v${bundle.version} only partly applied: ${pending} of ${steps.length} steps pending`,
          details: { release: bundle.payload.release, failed: failed.filter((s) => !deferred.has(s.id)).map((s) => s.id), deferred: [...deferred], applied: done.length },
        }, [kvSet(KV.reconcile, { ...next, applyFailedVersion: bundle.version })]);
      } else await this.writeRecord(next);
    } else {
      const state: SiteState = pending === 0 ? "in-sync" : "degraded";
      await this.writeRecord({ ...rec, state, pendingSteps: pending, lastRunAt: new Date().toISOString(), message: pending ? [`${pending} drifted objects not repaired`, waitNote].filter(Boolean).join("; ") : undefined });
    }
    if (done.length > 0 || isApply) this.d.onChanged?.();
    return { kind, bundleVersion: bundle.version, steps: steps.length, done: done.length, pending, aborted };
  }

  private async finishApply(bundle: StoredBundle, rec: ReconcileRecord, steps: number, startedMs: number): Promise<void> {
    const at = new Date();
    const p: BundlePayload = bundle.payload;
    await this.d.events.emit({
      type: "applied", bundleVersion: bundle.version,
      message: `applied bundle v${bundle.version} (${p.release.name} ${p.release.version}): ${steps} steps`,
      details: { release: p.release, steps, durationMs: at.getTime() - startedMs },
    }, [kvSet(KV.reconcile, {
      ...rec, state: "in-sync", appliedVersion: bundle.version, lastAppliedAt: at.toISOString(),
      pendingSteps: 0, lastRunAt: at.toISOString(), message: undefined,
    } satisfies ReconcileRecord)]);
    this.d.onChanged?.();
  }

  private async applyWithRetries(step: Step, bundleVersion: number): Promise<Attempt> {
    const { store, log, signal } = this.d;
    const driver = this.d.drivers.find((x) => x.name === step.driver);
    if (!driver) throw new Error(`no driver ${step.driver} for step ${step.id}`);
    let lastError = "";
    for (let attempt = 1; attempt <= this.d.stepMaxAttempts; attempt++) {
      await store.write([journalAppend("step-started", { step: step.id, attempt, bundleVersion })]);
      try {
        await driver.apply(step, signal);
        await store.write([
          journalAppend("step-done", { step: step.id, attempt, bundleVersion }),
          appliedRecord({ driver: step.driver, kind: step.kind, name: step.name, action: step.action, specHash: sha256Hex(canonicalJson(step.after ?? null)), bundleVersion }),
        ]);
        this.quarantine.release(step.id);
        log.debug({ step: step.id, attempt }, "step applied");
        return "done";
      } catch (e) {
        if (signal.aborted || isAbortError(e)) {
          await store.write([journalAppend("step-failed", { step: step.id, attempt, aborted: true })]);
          return "aborted";
        }
        lastError = (e as Error).message;
        await store.write([journalAppend("step-failed", { step: step.id, attempt, error: lastError })]);
        log.warn({ step: step.id, attempt, of: this.d.stepMaxAttempts }, `step failed: ${lastError}`);
        if (attempt < this.d.stepMaxAttempts && !(await sleep(backoffDelay(attempt - 1, this.d.stepRetry), signal))) return "aborted";
      }
    }
    const q = this.quarantine.hold(step.id, lastError, Date.now());
    await this.d.events.emit({
      type: "step-quarantined", severity: "error", bundleVersion,
      message: `step ${step.id} failed ${this.d.stepMaxAttempts} times; quarantined until ${new Date(q.until).toISOString()}`,
      details: { step: step.id, kind: step.kind, name: step.name, action: step.action, attempts: this.d.stepMaxAttempts, quarantines: q.quarantines, retryAt: new Date(q.until).toISOString(), error: lastError },
    });
    return "failed";
  }
}
