import { randomBytes } from "node:crypto";
import { eq } from "drizzle-orm";
import { connect, type MqttClient } from "mqtt";
import type { Logger } from "pino";
import { MqttTopics, MqttWake, parseSiteTopic, ReportsRequest } from "@outpost/shared";
import type { HubDb } from "../db/client.ts";
import { sites } from "../db/schema.ts";
import { LocalNotifier } from "../notify/local.ts";
import type { BundleNotifier } from "../notify/notifier.ts";
import { LastSeen } from "../auth/last-seen.ts";
import { ingestReports } from "../reports/ingest.ts";
import { HUB_CLIENT_PREFIX } from "./acl.ts";
import { newestBundles } from "./newest.ts";

/** Same bound as POST /agent/v1/reports (app.ts MAX_REPORTS_BODY_BYTES). */
const MAX_REPORTS_MESSAGE_BYTES = 4 * 1024 * 1024;
const PUBLISH_CHUNK = 500;

export interface HubBusOptions {
  hub: HubDb;
  logger: Logger;
  now: () => Date;
  url: string;
  username: string;
  password: string;
  /** External broker: reports go to one replica of several (`$share/...`); the embedded one serves one hub. */
  sharedReports: boolean;
  /** Runs after every (re)connect, before bundles are published (dynsec: the hub's own role). */
  onConnect?: (client: MqttClient) => Promise<void>;
}

/**
 * The hub's own MQTT client, on the embedded broker or an external one:
 * - keeps every approved site's newest bundle retained (QoS 1) on its bundle topic: after each issue,
 *   and all of them after every (re)connect, so a restarted or empty broker is full again;
 * - consumes reports from every site's reports topic, stores them through the same ingest as HTTPS and
 *   answers the ids held on the site's acks topic;
 * - is the wake-up bus between replicas: `notifier` wakes local long-polls at once and tells the
 *   other replicas on `outpost/v1/hub/wake`, so a bundle issued anywhere wakes long-polls everywhere.
 */
export class HubBus {
  readonly replicaId = randomBytes(6).toString("hex");
  readonly notifier: BundleNotifier;
  readonly #local = new LocalNotifier();
  readonly #pending = new Map<string, number>();
  #flushScheduled = false;
  /** One publisher at a time: a full republish and an issue-time publish never overtake each other. */
  #chain: Promise<unknown> = Promise.resolve();
  readonly #log: Logger;
  client!: MqttClient;

  readonly #lastSeen: LastSeen;
  constructor(private readonly o: HubBusOptions) {
    this.#lastSeen = new LastSeen(o.hub);
    this.#log = o.logger.child({ component: "mqtt-bus" });
    const local = this.#local;
    this.notifier = {
      publish: (site, version) => {
        local.publish(site, version);
        this.#pending.set(site, Math.max(version, this.#pending.get(site) ?? 0));
        if (!this.#flushScheduled) { this.#flushScheduled = true; setImmediate(() => this.#flush()); }
      },
      subscribe: (site, listener) => local.subscribe(site, listener),
      listenerCount: (site) => local.listenerCount(site),
      close: () => this.close(),
    };
  }

  /** Connects (the broker must answer within `timeoutMs`); reconnects on its own afterwards. */
  async start(timeoutMs = 10_000): Promise<void> {
    const client = connect(this.o.url, {
      clientId: `${HUB_CLIENT_PREFIX}${this.replicaId}`, username: this.o.username, password: this.o.password,
      clean: true, reconnectPeriod: 1000, connectTimeout: timeoutMs, protocolVersion: 4,
    });
    this.client = client;
    client.on("message", (topic, payload) => this.#onMessage(topic, payload));
    client.on("connect", () => {
      this.#queue(async () => {
        await this.o.onConnect?.(client);
        const reports = `${this.o.sharedReports ? "$share/outpost-hub/" : ""}${MqttTopics.reports("+")}`;
        await client.subscribeAsync({ [reports]: { qos: 1 }, [MqttTopics.hubWake]: { qos: 1 } });
        const all = await newestBundles(this.o.hub);
        await this.#publishBundles(all);
        this.#log.info({ sites: all.length }, "broker connected; bundles published retained");
      });
    });
    let said = false;
    client.on("error", (e) => { if (!said) { said = true; this.#log.warn({ err: e.message }, "hub mqtt client error"); } });
    client.on("offline", () => this.#log.warn("broker unreachable; agents fall back to HTTPS, retrying"));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`MQTT broker at ${redactUrl(this.o.url)} did not accept the hub within ${timeoutMs} ms`)), timeoutMs);
      client.once("connect", () => { clearTimeout(timer); resolve(); });
    }).catch(async (e: unknown) => { await client.endAsync(true); throw e; });
  }

  /** Resolves once everything queued so far (reconnect republish, issued bundles) was published. */
  idle(): Promise<void> { return this.#chain.then(() => undefined); }

  #queue(fn: () => Promise<void>): void {
    this.#chain = this.#chain.then(fn).catch((e: unknown) => this.#log.warn({ err: (e as Error).message }, "mqtt publish failed (republished on the next reconnect)"));
  }

  #flush(): void {
    this.#flushScheduled = false;
    const batch = [...this.#pending.entries()];
    this.#pending.clear();
    if (batch.length === 0) return;
    this.#queue(async () => {
      // While the broker is away there is nothing to do: every reconnect republishes all bundles,
      // and other replicas' long-polls still answer when their wait ends.
      if (!this.client.connected) return;
      await this.#publishBundles(await newestBundles(this.o.hub, batch.map(([s]) => s)));
      const wake: MqttWake = { from: this.replicaId, bundles: batch.map(([site, version]) => ({ site, version })) };
      await this.client.publishAsync(MqttTopics.hubWake, JSON.stringify(wake), { qos: 1 });
    });
  }

  async #publishBundles(list: { site: string; jws: string }[]): Promise<void> {
    for (let i = 0; i < list.length; i += PUBLISH_CHUNK) {
      await Promise.all(list.slice(i, i + PUBLISH_CHUNK).map((b) => this.client.publishAsync(MqttTopics.bundle(b.site), b.jws, { qos: 1, retain: true })));
    }
  }

  #onMessage(topic: string, payload: Buffer): void {
    if (topic === MqttTopics.hubWake) {
      let wake: MqttWake;
      try { wake = MqttWake.parse(JSON.parse(payload.toString("utf8"))); } catch { return; }
      if (wake.from === this.replicaId) return; // our own: local long-polls were woken already
      for (const b of wake.bundles) this.#local.publish(b.site, b.version);
      return;
    }
    const t = parseSiteTopic(topic);
    if (t?.leaf === "reports") void this.#onReports(t.site, payload);
  }

  /**
   * The site is the topic's: only that site may publish there (broker ACL). Still, the site must be
   * approved now (a revoked site's session may not have been cut yet), and the body must pass the
   * same schema as the HTTPS route. Nothing is acked for a refused message: the agent keeps it.
   */
  async #onReports(siteName: string, payload: Buffer): Promise<void> {
    try {
      if (payload.length > MAX_REPORTS_MESSAGE_BYTES) { this.#log.warn({ site: siteName }, "reports message too large, dropped"); return; }
      const [site] = await this.o.hub.db.select({ id: sites.id, status: sites.status }).from(sites).where(eq(sites.name, siteName)).limit(1);
      if (!site || site.status !== "approved") { this.#log.info({ site: siteName }, "reports from a site that is not approved, dropped"); return; }
      let parsed;
      try { parsed = ReportsRequest.safeParse(JSON.parse(payload.toString("utf8"))); } catch { parsed = null; }
      if (!parsed?.success) { this.#log.warn({ site: siteName }, "malformed reports message, dropped"); return; }
      const res = await ingestReports(this.o, site, parsed.data.reports);
      // A site on MQTT makes no HTTPS calls for long stretches: its reports are its sign of life.
      await this.#lastSeen.touch(site.id, this.o.now());
      await this.client.publishAsync(MqttTopics.acks(siteName), JSON.stringify(res), { qos: 1 });
    } catch (e) {
      this.#log.warn({ site: siteName, err: (e as Error).message }, "reports message not stored (the agent resends it)");
    }
  }

  #closing: Promise<void> | null = null;
  close(): Promise<void> {
    return (this.#closing ??= (async () => {
      await this.#local.close();
      await this.client?.endAsync(true).catch(() => {});
    })());
  }
}

/** A broker URL for logs: never the password (MQTT_URL may carry user:pass@). */
export function redactUrl(url: string): string {
  try { const u = new URL(url); if (u.password) u.password = "***"; return u.toString(); } catch { return "(unparsable MQTT URL)"; }
}
