import type { Logger } from "pino";
import { AgentClient, HubError, type Artifact } from "@outpost/shared";
import { createArtifactCache } from "./artifacts/cache.ts";
import type { AgentConfig } from "./config.ts";
import { healthEvents, type CephHealth } from "./drivers/ceph/health.ts";
import type { CephObserved } from "./drivers/ceph/normalize.ts";
import { createDrivers, driverSchema } from "./drivers/index.ts";
import { loadOrCreateIdentity } from "./identity/keypair.ts";
import { continueIdsAfter } from "./lib/ids.ts";
import { createLogger } from "./lib/log.ts";
import { sleep } from "./lib/sleep.ts";
import { AGENT_VERSION } from "./lib/version.ts";
import { Reconciler } from "./reconcile/reconciler.ts";
import { Events } from "./report/events.ts";
import { Flusher } from "./report/flusher.ts";
import { Reporter } from "./report/reporter.ts";
import { watchStorage } from "./report/storage.ts";
import { currentBundle } from "./store/bundles.ts";
import { openStore } from "./store/db.ts";
import { journalAppend } from "./store/journal.ts";
import { KV, kvSet } from "./store/kv.ts";
import { newestReportId } from "./store/outbox.ts";
import { HttpsSync } from "./sync/https.ts";
import { clockWatch } from "./sync/clock.ts";
import { HubLink } from "./sync/link.ts";
import type { Transport } from "./sync/mqtt/index.ts";
import { serialIntake } from "./sync/mqtt/intake.ts";
import { ensureEnrolled, EnrollError } from "./trust/enroll.ts";
import { BundleIntake } from "./trust/intake.ts";
import { loadTrust } from "./trust/trust-store.ts";

export interface RunningAgent {
  site: string;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** A pino logger to use instead of the default one on stdout (tests, embedding). */
  logger?: Logger;
  /** Called when a bundle has passed verification and is stored (the fleet simulator times delivery with it). */
  onBundleAccepted?: (version: number) => void;
}

/**
 * Starts the agent: identity, state file, drivers, enrollment, then the four loops that make up
 * DESIGN §4, each with its own cadence and all stopped by one AbortSignal:
 *   sync (long-poll the hub) -> intake (verify, store) -> reconciler (plan, apply, heal)
 *   events/reporter -> outbox -> flusher (send, delete acked)
 *
 * Resolves once everything runs. Throws only for what a person must fix (bad config, unsafe key
 * file, refused enrollment); an unreachable hub is not one of those: the agent starts anyway and
 * keeps retrying, enforcing the last good bundle meanwhile.
 */
/** How long stop() waits for the loops to notice the abort. */
const STOP_GRACE_MS = 15_000;

export async function startAgent(config: AgentConfig, opts: StartOptions = {}): Promise<RunningAgent> {
  const log = opts.logger ?? createLogger(config.logLevel, config.site);
  const identity = await loadOrCreateIdentity(config.stateDir);
  const store = await openStore(config.stateDir, { schema: driverSchema(config) });
  const ac = new AbortController();
  const signal = ac.signal;

  try {
    if (identity.created) log.info({ kid: identity.kid }, "generated this agent's key pair");
    if (config.driver === "real") log.info({ drivers: config.drivers }, "managing this site's real systems");
    if (config.driver === "sim") {
      log.warn("driver sim: this agent manages a SIMULATED site (LXD, OVN, Ceph and host packages are rows in the state file, nothing real is touched)");
    }
    continueIdsAfter(await newestReportId(store.db));
    const trust = await loadTrust(store.db);
    if (trust && trust.site !== config.site) {
      throw new EnrollError(`the state directory ${config.stateDir} belongs to site ${trust.site}, not ${config.site}`);
    }
    await store.write([
      kvSet(KV.agent, { site: config.site, hubUrl: config.hubUrl, labels: config.labels, driver: config.driver, agentVersion: AGENT_VERSION, startedAt: new Date().toISOString() }),
      journalAppend("agent-started", { site: config.site, agentVersion: AGENT_VERSION, driver: config.driver, pid: process.pid }),
    ]);

    // Late-bound: the flusher needs the events' nudge and the events need the flusher; wire by closure.
    let events: Events | null = null;
    const link = new HubLink({ store, log });
    const client = new AgentClient(config.hubUrl, config.site, identity.privateKey, {
      timeoutMs: config.hubTimeoutSeconds * 1000,
      onClockOffset: clockWatch({ events: () => events, log }),
      onOutcome: (e) => (e === null ? link.ok() : link.failed(e)),
    });
    const hubBackoff = { baseMs: config.backoffBaseMs, capMs: config.backoffCapMs };
    // The LXD driver reads the enforced bundle's artifacts synchronously while planning: keep a copy,
    // refreshed whenever a bundle is accepted.
    let artifacts: readonly Artifact[] = (await currentBundle(store.db))?.payload.artifacts ?? [];
    const refreshArtifacts = async () => { artifacts = (await currentBundle(store.db))?.payload.artifacts ?? []; };
    const drivers = await createDrivers(config, store, {
      artifacts: createArtifactCache({ stateDir: config.stateDir, client, log }),
      currentArtifacts: () => artifacts,
      log,
    });

    let flusher: Flusher | null = null;
    let reporter: Reporter | null = null;
    let cephHealth: CephHealth | undefined;
    events = new Events(store, config.outboxMax, log, () => flusher?.kick());

    const reconciler = new Reconciler({
      store, drivers, events, log, signal,
      ...(config.healIntervalSeconds !== undefined ? { healIntervalSeconds: config.healIntervalSeconds } : {}),
      stepMaxAttempts: config.stepMaxAttempts,
      stepRetry: { baseMs: config.stepRetryBaseMs, capMs: Math.max(config.stepRetryBaseMs, 30_000) },
      quarantine: { baseMs: config.quarantineBaseSeconds * 1000, capMs: config.quarantineCapSeconds * 1000 },
      onChanged: () => reporter?.reportSoon(),
    });
    // Bundles and reports over HTTPS, MQTT or MQTT with HTTPS fallback (config transport); the
    // intake is bound late (below), as every bundle must reach the same BundleIntake.
    const knownVersion = async () => (await loadTrust(store.db))?.bundleVersion ?? 0;
    let mqttIntake: ReturnType<typeof serialIntake> | null = null;
    // The MQTT client (and its dependencies, ~12 MB of RSS) is loaded only by an agent that uses it.
    const transport: Transport = config.transport === "https"
      ? { bundles: client, reports: client, session: null }
      : (await import("./sync/mqtt/index.ts")).createTransport({
        transport: config.transport, site: config.site, client, store, mqttUrl: config.mqttUrl, safetyPollSeconds: config.mqttSafetyPollSeconds,
        onBundle: async (jws) => { await mqttIntake?.receive(jws, "mqtt"); }, backoff: hubBackoff, log, signal,
      });
    flusher = new Flusher({ store, sender: transport.reports, log, intervalMs: config.reportIntervalSeconds * 1000, backoff: hubBackoff, signal });
    watchStorage({ store, events, log, stateDir: config.stateDir });
    reporter = new Reporter({
      store, stateDir: config.stateDir, log, signal, intervalMs: config.reportIntervalSeconds * 1000, outboxMax: config.outboxMax,
      onQueued: () => flusher?.kick(),
      sendDirect: (items) => transport.reports.reports(items),
      driverMetrics: async () => {
        const m: Record<string, number> = {};
        for (const drv of drivers) {
          if (!drv.metrics) continue;
          const observed = await drv.observe();
          Object.assign(m, drv.metrics(observed));
          // Ceph health goes to telemetry (in metrics) and, when it changes, to an event.
          if (drv.name === "ceph" && config.driver === "real") {
            const health = (observed as CephObserved).health;
            for (const ev of healthEvents(cephHealth, health)) await events.emit(ev);
            cephHealth = health;
          }
        }
        return m;
      },
    });
    const intake = new BundleIntake({ store, events, log, fetchKeys: () => client.keys(), onAccepted: (version) => { opts.onBundleAccepted?.(version); void refreshArtifacts().finally(() => reconciler.kick()); } });
    const enroll = () => ensureEnrolled({ store, client, identity, config, events, log });

    // First enrollment attempt up front, so a bad token or a taken name fails startAgent loudly;
    // a hub that cannot be reached is retried by the sync loop instead.
    try {
      await enroll();
    } catch (e) {
      if (e instanceof EnrollError) throw e;
      if (!(e instanceof HubError) && (e as Error).name !== "TimeoutError") throw e;
      log.warn({ code: (e as HubError).code }, `cannot enroll yet, will keep trying: ${(e as Error).message}`);
    }

    if (transport.session) mqttIntake = serialIntake(intake, knownVersion);
    const sync = new HttpsSync({
      client: transport.bundles, intake: mqttIntake ?? intake, log, signal, backoff: hubBackoff,
      longPollSeconds: config.longPollSeconds,
      knownVersion,
      ensureEnrolled: enroll,
      pollIntervalSeconds: async () => (await currentBundle(store.db))?.payload.spec.agent.pollIntervalSeconds ?? 30,
    });

    // The loops catch their own errors; this is the last line of defence against a crash by
    // unhandled rejection, which would take site enforcement down with it.
    const LOOP_NAMES = ["reconcile", "flush", "report", "sync", "mqtt"] as const;
    const finished = new Set<string>();
    const loops = [reconciler.start(), flusher.start(), reporter.start(), sync.start(), transport.session?.start() ?? Promise.resolve()]
      .map((p, i) => p.catch((e: unknown) => log.fatal({ err: (e as Error).message, loop: LOOP_NAMES[i] }, "agent loop crashed"))
        .finally(() => finished.add(LOOP_NAMES[i]!)));
    log.info({ hub: config.hubUrl, stateDir: config.stateDir, agentVersion: AGENT_VERSION }, "agent started");

    let stopping: Promise<void> | null = null;
    return {
      site: config.site,
      stop: () => {
        stopping ??= (async () => {
          log.info("agent stopping");
          ac.abort();
          // Each loop notices the abort at its next await: the long-poll is cancelled, a step in
          // progress is finished or abandoned before it writes (never half-written), then the file closes.
          // Bounded: a loop stuck on an I/O call that ignores the abort must not keep the agent from
          // stopping (systemd would SIGKILL it mid-write instead). Name it, so the bug can be found.
          const grace = new AbortController();
          const allDone = Promise.allSettled(loops).then(() => { grace.abort(); return true; });
          if (!(await Promise.race([allDone, sleep(STOP_GRACE_MS, grace.signal).then((slept) => !slept)]))) {
            log.error({ stuck: LOOP_NAMES.filter((n) => !finished.has(n)) }, `agent loops did not stop within ${STOP_GRACE_MS} ms; closing anyway`);
          }
          try { await store.write([journalAppend("agent-stopped", { pid: process.pid })]); } catch { /* closing anyway */ }
          store.close();
          log.info("agent stopped");
        })();
        return stopping;
      },
    };
  } catch (e) {
    ac.abort();
    store.close();
    throw e;
  }
}
