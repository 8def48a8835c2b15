import { connect, type IClientOptions, type MqttClient } from "mqtt";
import type { Logger } from "pino";
import { HubError, MAX_BUNDLE_JWS_CHARS, MqttInfo, MqttTopics, ReportsResponse, type AgentClient, type ReportItem } from "@outpost/shared";
import { sleep } from "../../lib/sleep.ts";
import type { Store } from "../../store/db.ts";
import { kvGet, kvSet } from "../../store/kv.ts";
import { backoffDelay, type BackoffPolicy } from "../backoff.ts";

const ACK_TIMEOUT_MS = 10_000;
const CONNECT_TIMEOUT_MS = 10_000;
/** A connection that lived this long was a success: the next failure starts the backoff afresh. */
const STABLE_MS = 30_000;
const CREDENTIALS_KEY = "mqtt-credentials";

export interface MqttSessionDeps {
  site: string;
  client: Pick<AgentClient, "mqtt" | "token">;
  store: Store;
  /** Overrides the broker URL the hub advertises (OUTPOST_MQTT_URL). */
  url?: string;
  /** Every message on the site's bundle topic, as the raw string: the caller verifies it like any other. */
  onBundle: (jws: string) => Promise<void>;
  /** Called on every change between connected (true) and not (false). */
  onState?: (up: boolean) => void;
  backoff: BackoffPolicy;
  log: Logger;
  signal: AbortSignal;
}

/**
 * One outbound MQTT connection per site (DESIGN §3): persistent session (clean: false, client id =
 * the site), QoS 1, subscribed to the site's bundle and acks topics. Reconnects with the agent's
 * backoff and full jitter, so a fleet does not stampede a broker that comes back; every attempt logs
 * in with a fresh credential (a new JWT, or the broker secret the hub issued, fetched again when the
 * broker refuses it). Messages are only handed on: trust comes from verification, never the topic.
 */
export class MqttSession {
  #client: MqttClient | null = null;
  #up = false;
  #info: MqttInfo | null = null;
  /** The last connection attempt failed: ask the hub where the broker is before the next one. */
  #recheck = false;
  #attempt = 0;
  #running: Promise<void> | null = null;
  #said = new Set<string>();
  readonly #acks = new Set<(r: ReportsResponse) => void>();
  #bundleChain: Promise<unknown> = Promise.resolve();

  constructor(private readonly d: MqttSessionDeps) {}

  get up(): boolean { return this.#up; }

  start(): Promise<void> { return (this.#running ??= this.#loop()); }

  async stopped(): Promise<void> { await this.#running; }

  /**
   * Publishes one batch on the reports topic and waits for the hub's ack naming its ids. Throws when
   * the session is down or no ack comes in time: the outbox keeps the batch, and a resend is harmless
   * (the hub de-duplicates by id).
   */
  async publishReports(items: ReportItem[]): Promise<ReportsResponse> {
    const client = this.#client;
    if (!client || !this.#up || this.d.signal.aborted) throw new HubError(0, "MQTT_DOWN", "not connected to the MQTT broker");
    const ids = new Set(items.map((i) => i.id));
    let done!: (r: ReportsResponse) => void;
    const acked = new Promise<ReportsResponse>((resolve) => { done = resolve; });
    const listener = (r: ReportsResponse) => { if (r.acked.some((id) => ids.has(id))) done(r); };
    this.#acks.add(listener);
    try {
      // The deadline covers the publish too: a QoS 1 publish whose connection is closed (force end on
      // stop, a dropped link) stays pending in mqtt.js until a reconnect that may never come, and the
      // flusher would wait on it forever (agent stop hung on exactly that).
      const published = client.publishAsync(MqttTopics.reports(this.d.site), JSON.stringify({ reports: items }), { qos: 1 });
      return await deadline(published.then(() => acked), ACK_TIMEOUT_MS, `no ack for ${items.length} reports`, this.d.signal);
    } finally {
      this.#acks.delete(listener);
    }
  }

  #setUp(up: boolean): void {
    if (this.#up === up) return;
    this.#up = up;
    this.d.onState?.(up);
  }

  #once(key: string, fn: () => void): void { if (!this.#said.has(key)) { this.#said.add(key); fn(); } }

  async #loop(): Promise<void> {
    const { signal, log } = this.d;
    while (!signal.aborted) {
      let connectedAt = 0;
      try {
        const info = await this.#credentials();
        const url = this.d.url ?? info.urls[0];
        if (!url) throw new Error("the hub advertises no MQTT broker URL (set OUTPOST_MQTT_URL)");
        const client = await this.#connect(url, info);
        connectedAt = Date.now();
        this.#said.clear();
        log.info({ broker: url }, "mqtt connected");
        await new Promise<void>((resolve) => {
          if (!client.connected) return resolve();
          client.once("close", resolve);
          signal.addEventListener("abort", () => resolve(), { once: true });
        });
        this.#setUp(false);
        await client.endAsync(true).catch(() => {});
        this.#client = null;
        if (signal.aborted) break;
        log.warn("mqtt connection lost; reconnecting with backoff");
      } catch (e) {
        if (signal.aborted) break;
        this.#explain(e);
      }
      if (connectedAt && Date.now() - connectedAt > STABLE_MS) this.#attempt = 0;
      const delay = backoffDelay(this.#attempt++, this.d.backoff);
      if (!(await sleep(delay, signal))) break;
    }
    this.#setUp(false);
    log.debug("mqtt session stopped");
  }

  /**
   * From memory, the state file (a broker secret survives restarts and hub outages), or the hub.
   * After a failed attempt the hub is asked again first: the broker may be back at another address
   * (the hub restarted with its embedded broker elsewhere, a new public URL); when the hub cannot be
   * asked either, the address held is tried again.
   */
  async #credentials(): Promise<MqttInfo> {
    if (this.#recheck) {
      this.#recheck = false;
      try { return await this.#fetchCredentials(); } catch (e) {
        if (this.#info) return this.#info;
        throw e;
      }
    }
    if (this.#info) return this.#info;
    const saved = MqttInfo.safeParse(await kvGet(this.d.store.db, CREDENTIALS_KEY));
    if (saved.success) return (this.#info = saved.data);
    return this.#fetchCredentials();
  }

  async #fetchCredentials(): Promise<MqttInfo> {
    const info = await this.d.client.mqtt();
    // The broker secret (external broker) is a credential: it lives only in the state file, never in logs.
    await this.d.store.write([kvSet(CREDENTIALS_KEY, info)]);
    return (this.#info = info);
  }

  async #forgetCredentials(): Promise<void> {
    this.#info = null;
    await this.d.store.write([{ sql: "DELETE FROM kv WHERE key = ?", args: [CREDENTIALS_KEY] }]);
  }

  async #connect(url: string, info: MqttInfo): Promise<MqttClient> {
    const password = info.passwordScheme === "jwt" ? await this.d.client.token() : info.password ?? "";
    const opts: IClientOptions = {
      clientId: info.clientId, username: info.username, password, clean: false, protocolVersion: 4,
      reconnectPeriod: 0, connectTimeout: CONNECT_TIMEOUT_MS, keepalive: 15, resubscribe: false,
    };
    const client = connect(url, opts);
    this.#client = client;
    client.on("message", (topic, payload) => this.#onMessage(topic, payload));
    client.on("error", () => { /* reported through connect's outcome or 'close' */ });
    try {
      await new Promise<void>((resolve, reject) => {
        client.once("connect", () => resolve());
        client.once("error", reject);
        client.once("close", () => reject(new Error("connection closed before the broker accepted it")));
      });
      // Subscribed on every connect: cheap, and a broker that lost the session (restart) still serves us.
      // Bounded: a SUBACK lost with its connection leaves mqtt.js's promise pending, and stop would wait on it.
      const granted = await deadline(client.subscribeAsync({ [MqttTopics.bundle(this.d.site)]: { qos: 1 }, [MqttTopics.acks(this.d.site)]: { qos: 1 } }),
        CONNECT_TIMEOUT_MS, "no SUBACK from the broker", this.d.signal);
      const refused = granted.filter((g) => g.qos === 128);
      if (refused.length) throw Object.assign(new Error(`broker refused the subscription to ${refused.map((g) => g.topic).join(", ")}`), { refusedSubscription: true });
    } catch (e) {
      this.#client = null;
      await client.endAsync(true).catch(() => {});
      throw e;
    }
    this.#setUp(true);
    return client;
  }

  #onMessage(topic: string, payload: Buffer): void {
    if (topic === MqttTopics.bundle(this.d.site)) {
      // The HTTPS client's cap (it was a quarter of it here: a valid bundle over 256 KiB failed over MQTT
      // only); anything larger is handed on truncated and refused as BUNDLE_TOO_LARGE.
      const jws = payload.subarray(0, MAX_BUNDLE_JWS_CHARS + 1).toString("utf8");
      // One at a time, in arrival order: verification and storage must not interleave.
      this.#bundleChain = this.#bundleChain.then(() => this.d.onBundle(jws)).catch((e: unknown) => {
        this.d.log.error({ err: (e as Error).message }, "could not process a bundle received over mqtt");
      });
    } else if (topic === MqttTopics.acks(this.d.site)) {
      let r: ReportsResponse;
      try { r = ReportsResponse.parse(JSON.parse(payload.toString("utf8"))); } catch { return; }
      for (const l of [...this.#acks]) l(r);
    }
  }

  #explain(e: unknown): void {
    const { log } = this.d;
    const code = (e as { code?: unknown }).code;
    if (code === 4 || code === 5) {
      // Refused login: the broker secret may have been rotated or removed, or the site is not approved
      // (yet, or any more). Ask the hub again next time; it answers 403 while the site is pending.
      this.#once("refused", () => log.warn({ code }, "mqtt broker refused our login; fetching credentials from the hub again"));
      void this.#forgetCredentials().catch(() => {});
    } else if (e instanceof HubError && (e.code === "AUTH_SITE_PENDING" || e.code === "MQTT_DISABLED")) {
      this.#once(e.code, () => log.info(e.code === "MQTT_DISABLED" ? "the hub runs without MQTT; staying on HTTPS" : "waiting for approval before connecting to mqtt"));
    } else {
      this.#recheck = true;
      this.#once("unreachable", () => log.warn({ err: (e as Error).message }, "mqtt broker unreachable; retrying with backoff"));
    }
  }
}

/** `p`, or a transient MQTT error after `ms` or when `signal` aborts, whichever comes first. */
function deadline<T>(p: Promise<T>, ms: number, what: string, signal: AbortSignal): Promise<T> {
  p.catch(() => {}); // settled late, after we gave up: nothing left to tell
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  return Promise.race([p, new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new HubError(0, "MQTT_TIMEOUT", `${what} within ${ms} ms`)), ms);
    onAbort = () => reject(new HubError(0, "MQTT_DOWN", "agent stopping"));
    if (signal.aborted) onAbort(); else signal.addEventListener("abort", onAbort, { once: true });
  })]).finally(() => { clearTimeout(timer); if (onAbort) signal.removeEventListener("abort", onAbort); });
}
