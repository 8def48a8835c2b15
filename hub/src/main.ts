import { setMaxListeners } from "node:events";
import fs from "node:fs";
import path from "node:path";
import type { AddressInfo } from "node:net";
import { createAdaptorServer, type ServerType } from "@hono/node-server";
import { LISTEN_BACKLOG } from "./listen.ts";
import type { DestinationStream } from "pino";
import { createHubApp } from "./app.ts";
import { artifactMaxBytes } from "./artifacts/config.ts";
import { ArtifactStore } from "./artifacts/store.ts";
import { ensureAdminToken } from "./auth/admin-token.ts";
import { TrustedProxies } from "./audit/forwarded.ts";
import { OidcVerifier, oidcConfigFromEnv, type OidcConfig } from "./auth/oidc.ts";
import { purgeExpiredJtis } from "./auth/jti-store.ts";
import { describeDbUrl, openDb, type HubDb } from "./db/client.ts";
import { migrateDb } from "./db/migrate.ts";
import { createLogger } from "./log.ts";
import { LocalNotifier } from "./notify/local.ts";
import type { BundleNotifier } from "./notify/notifier.ts";
import { KeyStore } from "./signing/keystore.ts";
import { renewBundles, renewalIntervalMs } from "./bundles/renew.ts";
import { RolloutScheduler } from "./rollouts/scheduler.ts";
import { startMqtt, type MqttOptions, type RunningMqtt } from "./mqtt/index.ts";

/** MQTT options (embedded broker ports, or MQTT_URL for an external one): see mqtt/config.ts. */
export interface StartHubOptions extends MqttOptions {
  dataDir: string;
  /** 0 = an ephemeral port (tests). */
  port?: number;
  /** Default 127.0.0.1: exposing the hub is a deliberate choice. */
  host?: string;
  /** Default `file:<dataDir>/hub.db`; env DATABASE_URL. */
  databaseUrl?: string;
  /** For libsql:// / http(s):// URLs; env DATABASE_AUTH_TOKEN. */
  databaseAuthToken?: string;
  /** The admin API token to create on first start (automation); env OUTPOST_ADMIN_TOKEN; else random. */
  adminToken?: string;
  /** Lifetime of issued bundles, default 168 h; env OUTPOST_BUNDLE_TTL_SECONDS (short-lived bundles for expiry tests). */
  bundleTtlHours?: number;
  logLevel?: string;
  /** Where log lines go (default stdout); a test embedding the hub reads them from here. */
  logDestination?: DestinationStream;
  rootKeys?: number;
  rootThreshold?: number;
  /** Seconds between rollout engine ticks, default 2; env OUTPOST_ROLLOUT_TICK_SECONDS; 0 = no timer (tests call `rollouts.tick(now)`). */
  rolloutTickSeconds?: number;
  /** Largest artifact upload, default 4 GiB; env OUTPOST_ARTIFACT_MAX_BYTES. */
  artifactMaxBytes?: number;
  /** Accept OIDC bearer tokens; env OUTPOST_OIDC_ISSUER, _AUDIENCE, _GROUPS_CLAIM, _ROLE_MAP; null = off even if set. */
  oidc?: OidcConfig | null;
  /** Reverse proxies (comma list of IPs / CIDRs) whose X-Forwarded-* headers are believed; env OUTPOST_TRUSTED_PROXIES; default none. */
  trustedProxies?: string;
  /** The URL browsers reach the hub at (OIDC redirect URL); env OUTPOST_PUBLIC_URL; default: from each request. */
  publicUrl?: string;
}

export interface RunningHub {
  url: string;
  port: number;
  /** The admin API token, on the first start only (show it once); null afterwards. */
  adminToken: string | null;
  /** Hash of the current root document, as enrollment tokens pin it. */
  rootHash: string;
  db: HubDb;
  app: ReturnType<typeof createHubApp>;
  keys: KeyStore;
  notifier: BundleNotifier;
  /** The rollout engine's driver: `tick(now)` runs one tick by hand. */
  rollouts: RolloutScheduler;
  /** The MQTT side (null when switched off): `urls` are the broker addresses to print. */
  mqtt: RunningMqtt | null;
  close(): Promise<void>;
}

const JTI_PURGE_EVERY_MS = 60_000;
/** A hub that runs for a year must renew its keys document without a restart. */
const KEYS_RENEW_CHECK_EVERY_MS = 6 * 3600_000;
/** How long close() lets in-flight requests finish before cutting connections. */
const CLOSE_GRACE_MS = 3000;

/**
 * Runs a first-start step that several replicas may run at once on one database: each step is
 * idempotent once done, so a failure is tried again (jittered) before it counts.
 */
async function raceSafe<T>(what: string, step: () => Promise<T>, logger: { info: (o: object, m: string) => void }): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try { return await step(); } catch (e) {
      if (attempt >= 4) throw e;
      logger.info({ err: (e as Error).message, attempt }, `${what}: failed, maybe racing another replica's first start; trying again`);
      await new Promise((r) => setTimeout(r, 100 + Math.random() * 400 * attempt));
    }
  }
}

export async function startHub(opts: StartHubOptions): Promise<RunningHub> {
  const bundleTtlHours = opts.bundleTtlHours ?? ttlFromEnv() ?? 168; // checked before anything is created
  const rolloutTickSeconds = opts.rolloutTickSeconds ?? rolloutTickFromEnv() ?? 2;
  const maxArtifactBytes = artifactMaxBytes(opts.artifactMaxBytes);
  const oidcConfig = opts.oidc === undefined ? oidcConfigFromEnv() : opts.oidc;
  const trustedProxies = TrustedProxies.parse(opts.trustedProxies ?? process.env.OUTPOST_TRUSTED_PROXIES ?? "");
  const publicUrl = parsePublicUrl(opts.publicUrl ?? process.env.OUTPOST_PUBLIC_URL);
  fs.mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
  const logger = createLogger(opts.logLevel ?? "info", opts.logDestination);
  const databaseUrl = opts.databaseUrl ?? process.env.DATABASE_URL ?? `file:${path.resolve(opts.dataDir, "hub.db")}`;
  const hub = await openDb({ url: databaseUrl, authToken: opts.databaseAuthToken ?? process.env.DATABASE_AUTH_TOKEN });
  let mqtt: RunningMqtt | null = null;
  try {
    // Replicas started together on an empty database race to create it: the loser of each step
    // fails (a table or row the winner made) and, tried again, finds it done.
    const keys = new KeyStore(hub, { dataDir: opts.dataDir, rootKeys: opts.rootKeys, rootThreshold: opts.rootThreshold });
    await raceSafe("database migrations", () => migrateDb(hub), logger);
    await raceSafe("trust documents", () => keys.init(), logger);
    const adminToken = await raceSafe("admin token", () => ensureAdminToken(hub, opts.adminToken ?? process.env.OUTPOST_ADMIN_TOKEN, new Date(), (msg) => logger.warn(msg)), logger);
    // With MQTT the notifier also keeps bundles retained on the broker and wakes other replicas' long-polls.
    mqtt = await startMqtt({ hub, logger, now: () => new Date(), host: opts.host ?? "127.0.0.1", options: opts });
    const notifier: BundleNotifier = mqtt?.notifier ?? new LocalNotifier();
    const artifacts = await ArtifactStore.open(path.join(opts.dataDir, "artifacts"), { maxBytes: maxArtifactBytes });
    const shutdown = new AbortController();
    // Every held long-poll listens for shutdown: thousands of listeners are the design, not a leak.
    setMaxListeners(0, shutdown.signal);
    const app = createHubApp({
      hub, keys, notifier, logger, bundleTtlHours, shutdown: shutdown.signal, now: () => new Date(), artifacts,
      oidc: oidcConfig ? new OidcVerifier(oidcConfig) : undefined, trustedProxies, publicUrl,
      ...(mqtt ? { mqtt: mqtt.access } : {}),
    });
    const inFlight = new InFlight();
    const server = await listen(inFlight.wrap(app.fetch), opts.port ?? 7800, opts.host ?? "127.0.0.1");
    const { port } = server.address() as AddressInfo;
    const host = opts.host ?? "127.0.0.1";
    const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;

    const purge = setInterval(() => {
      purgeExpiredJtis(hub).catch((err) => logger.warn({ err }, "jti purge failed"));
    }, JTI_PURGE_EVERY_MS);
    purge.unref();
    const renewBundlesNow = () => renewBundles({ hub, keys, notifier, bundleTtlHours, now: () => new Date() })
      .then((r) => { if (r.length) logger.info({ sites: r.length }, "bundles renewed before expiry"); })
      .catch((err) => logger.warn({ err: (err as Error).message }, "bundle renewal failed"));
    await renewBundlesNow();
    const renewBundlesTimer = setInterval(renewBundlesNow, renewalIntervalMs(bundleTtlHours));
    renewBundlesTimer.unref();

    const renew = setInterval(() => {
      keys.renewKeysDocumentIfExpiring().then((renewed) => { if (renewed) logger.info("keys document re-signed before expiry"); })
        .catch((err) => logger.warn({ err: (err as Error).message }, "keys document renewal failed"));
    }, KEYS_RENEW_CHECK_EVERY_MS);
    renew.unref();

    const rollouts = new RolloutScheduler({ hub, keys, notifier, bundleTtlHours, now: () => new Date() }, { tickSeconds: rolloutTickSeconds, logger });
    rollouts.start();

    const { hash: rootHash } = await keys.currentRoot();
    logger.info({ url, database: describeDbUrl(databaseUrl) }, "hub listening");
    let closing: Promise<void> | null = null;
    return {
      url, port, adminToken, rootHash, db: hub, app, keys, notifier, rollouts, mqtt,
      close: () => (closing ??= (async () => {
        shutdown.abort(); // held long-polls answer now instead of holding close() for up to a minute
        clearInterval(purge);
        clearInterval(renew);
        clearInterval(renewBundlesTimer);
        await closeServer(server, inFlight);
        await rollouts.stop(); // hands the lease over at once instead of after its TTL
        await notifier.close();
        await mqtt?.close();
        hub.close();
      })()),
    };
  } catch (e) {
    await mqtt?.close();
    hub.close();
    throw e;
  }
}

function listen(fetch: (req: Request) => Response | Promise<Response>, port: number, hostname: string): Promise<ServerType> {
  return new Promise((resolve, reject) => {
    const server = createAdaptorServer({ fetch, hostname });
    server.once("error", reject);
    server.listen({ port, host: hostname, backlog: LISTEN_BACKLOG }, () => resolve(server));
  });
}

/** An origin (scheme, host, port): the dashboard's paths are absolute, so a path prefix could not work. */
function parsePublicUrl(raw: string | undefined): string | undefined {
  if (raw === undefined || raw === "") return undefined;
  let url: URL;
  try { url = new URL(raw); } catch { throw new Error(`OUTPOST_PUBLIC_URL must be a URL such as https://fleet.example.org, got '${raw}'`); }
  if (!/^https?:$/.test(url.protocol) || url.pathname.replace(/\/+$/, "") !== "" || url.search || url.hash) {
    throw new Error(`OUTPOST_PUBLIC_URL must be an http(s) origin without a path (https://fleet.example.org), got '${raw}'`);
  }
  return url.origin;
}

function ttlFromEnv(): number | undefined {
  const raw = process.env.OUTPOST_BUNDLE_TTL_SECONDS;
  if (raw === undefined || raw === "") return undefined;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds <= 0) throw new Error(`OUTPOST_BUNDLE_TTL_SECONDS must be a positive number of seconds, got '${raw}'`);
  return seconds / 3600;
}

function rolloutTickFromEnv(): number | undefined {
  const raw = process.env.OUTPOST_ROLLOUT_TICK_SECONDS;
  if (raw === undefined || raw === "") return undefined;
  const seconds = Number(raw);
  if (!Number.isInteger(seconds) || seconds < 0 || seconds > 3600) throw new Error(`OUTPOST_ROLLOUT_TICK_SECONDS must be a whole number of seconds from 0 to 3600, got '${raw}'`);
  return seconds;
}

/** Counts requests being handled, so close() knows when the remaining sockets carry nothing. */
class InFlight {
  #count = 0;
  #drained: (() => void)[] = [];
  wrap<A extends unknown[]>(fetch: (req: Request, ...rest: A) => Response | Promise<Response>) {
    return async (req: Request, ...rest: A): Promise<Response> => {
      this.#count++;
      try { return await fetch(req, ...rest); } finally {
        if (--this.#count === 0) for (const f of this.#drained.splice(0)) f();
      }
    };
  }
  drained(): Promise<void> { return this.#count === 0 ? Promise.resolve() : new Promise((r) => this.#drained.push(r)); }
}

/**
 * Stops accepting, lets in-flight requests answer (held long-polls already have: shutdown was
 * aborted), then closes every socket left — including keep-alive ones a client opened but never
 * used, which Node does not count as idle — without waiting for clients to hang up.
 */
async function closeServer(server: ServerType, inFlight: InFlight): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  const grace = new Promise<void>((resolve) => setTimeout(resolve, CLOSE_GRACE_MS).unref());
  await Promise.race([inFlight.drained(), grace]);
  await new Promise((r) => setImmediate(r)); // let the last answers reach their sockets first
  if ("closeAllConnections" in server) server.closeAllConnections();
  await closed;
}
