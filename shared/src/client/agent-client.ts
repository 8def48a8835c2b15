import type { CryptoKey } from "jose";
import { signAgentJwt } from "../auth/agent-jwt.ts";
import { MAX_BUNDLE_JWS_CHARS } from "../bundle/payload.ts";
import { TrustBundle } from "../trust/documents.ts";
import {
  AgentRoutes, BUNDLE_VERSION_HEADER, EnrollResponse, ReportsResponse,
  type EnrollRequest, type ReportItemInput,
} from "../protocol/agent.ts";
import { MQTT_INFO_PATH, MqttInfo } from "../protocol/mqtt.ts";
import { nextOffset, offsetFromDate } from "./clock.ts";
import { errorFrom, HubError, joinUrl, lightRequest, request } from "./http.ts";
import { deadline } from "./deadline.ts";
import type { LightRequest, LightResponse } from "./node-http.ts";

/**
 * Reads at most `limit` characters of a body and drops the rest: an endless answer (a hostile
 * proxy, a broken hub) must not exhaust the site's memory. A truncated bundle is still handed to
 * verification, which refuses it as BUNDLE_TOO_LARGE and reports it.
 */
async function readCapped(res: LightResponse, limit: number): Promise<string> {
  const decoder = new TextDecoder();
  let out = "";
  for await (const chunk of res.body) {
    out += decoder.decode(chunk as Uint8Array, { stream: true });
    if (out.length >= limit) { await res.body.cancel().catch(() => {}); return out.slice(0, limit); }
  }
  return out + decoder.decode();
}

export type BundleAnswer = { status: 200; jws: string; version: number } | { status: 204 };

export interface AgentClientOptions {
  /**
   * How long any call may take before it fails as a transient TIMEOUT (a long-poll: its wait plus
   * this). Without it, a request swallowed by a dead link (NAT state lost, a blackholed uplink) would
   * wait for the socket's own timeout, minutes, with the outbox stuck behind it.
   */
  timeoutMs?: number;
  /** Called when the estimated offset of this host's clock from the hub's changes (see clock.ts). */
  onClockOffset?: (offsetMs: number, hubDate: string) => void;
  /** Called after every call but those the caller aborted: null when it worked, else the error it throws. */
  onOutcome?: (error: unknown) => void;
}

const DEFAULT_TIMEOUT_MS = 30_000;

/**
 * The agent's side of DESIGN §3. Every authenticated call carries a fresh, single-use JWT. JSON
 * exchanges go over node:http (lightRequest: no undici in an agent, no timer waking it while its
 * long-poll is open); artifact downloads, rare and streamed to disk, keep fetch's Response.
 */
export class AgentClient {
  private readonly timeoutMs: number;
  /** Hub time minus local time, as learnt from the hub's Date headers; request tokens are signed on hub time. */
  clockOffsetMs = 0;

  constructor(readonly baseUrl: string, readonly site: string, private readonly key: CryptoKey, private readonly opts: AgentClientOptions = {}) {
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  private async auth(): Promise<Record<string, string>> {
    return { authorization: `Bearer ${await this.token()}` };
  }

  /**
   * One call: the request and `answer` (reading the body) under one deadline, learning the clock
   * offset from the answer; when the hub refused the request token while the offset was still
   * unknown (AUTH_INVALID, a clock far off), sign a new one on hub time and try once more. Our own
   * deadline becomes a transient HubError TIMEOUT.
   */
  private async call<T>(path: string, { authed, ...init }: LightRequest & { authed?: boolean }, answer: (res: LightResponse) => Promise<T>, waitMs = 0, signal?: AbortSignal): Promise<T> {
    const url = joinUrl(this.baseUrl, path);
    const limitMs = waitMs + this.timeoutMs;
    for (let attempt = 0; ; attempt++) {
      const d = deadline(limitMs, signal);
      try {
        const headers = { ...init.headers, ...(authed ? await this.auth() : {}) };
        const sentAt = Date.now();
        let res: LightResponse;
        try {
          res = await lightRequest(url, { ...init, headers, signal: d.signal });
        } catch (e) {
          if (d.timedOut) throw new HubError(0, "TIMEOUT", `hub at ${new URL(url).origin} did not answer ${path.split("?")[0]} within ${Math.round(limitMs / 1000)} s`);
          throw e;
        }
        const before = this.clockOffsetMs;
        this.learnClock(res, sentAt);
        if (res.status === 401 && authed && attempt === 0 && this.clockOffsetMs !== before) {
          await res.body.cancel();
          continue;
        }
        return await answer(res);
      } finally {
        d.clear();
      }
    }
  }

  private learnClock(res: LightResponse, sentAt: number): void {
    const date = res.headers.get("date");
    const next = nextOffset(this.clockOffsetMs, offsetFromDate(date, sentAt, Date.now()));
    if (next === this.clockOffsetMs) return;
    this.clockOffsetMs = next;
    this.opts.onClockOffset?.(next, date!);
  }

  /** Reads the body; a connection cut mid-answer is a transient error, like one that never connected. */
  private async body<T>(res: LightResponse, path: string, read: (r: LightResponse) => Promise<T>): Promise<T> {
    try {
      return await read(res);
    } catch (e) {
      if ((e as Error).name === "AbortError") throw e;
      if ((e as Error).name === "TimeoutError") throw new HubError(0, "TIMEOUT", `the hub's answer to ${path} did not arrive within ${Math.round(this.timeoutMs / 1000)} s`);
      throw new HubError(0, "BAD_ANSWER", `the hub's answer to ${path} was cut short or garbled: ${(e as Error).message}`);
    }
  }

  /** Runs one public call and tells onOutcome how it went. */
  private async tracked<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    try {
      const out = await fn();
      this.opts.onOutcome?.(null);
      return out;
    } catch (e) {
      if (!signal?.aborted) this.opts.onOutcome?.(e);
      throw e;
    }
  }

  enroll(body: EnrollRequest): Promise<EnrollResponse> { return this.tracked(() => this.enrollOnce(body)); }
  keys(): Promise<TrustBundle> { return this.tracked(() => this.keysOnce()); }
  /** Long-poll: answers at once when the hub holds a version newer than `known`, else after `wait` s with 204. */
  bundle(known: number, wait: number, signal?: AbortSignal): Promise<BundleAnswer> { return this.tracked(() => this.bundleOnce(known, wait, signal), signal); }
  reports(reports: ReportItemInput[]): Promise<ReportsResponse> { return this.tracked(() => this.reportsOnce(reports)); }
  /** How to reach the hub's MQTT broker (404 MQTT_DISABLED when the hub runs without one). */
  mqtt(): Promise<MqttInfo> { return this.tracked(() => this.mqttOnce()); }

  private async enrollOnce(body: EnrollRequest): Promise<EnrollResponse> {
    return this.call(AgentRoutes.enroll, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) }, async (res) => {
      if (!res.ok) throw await errorFrom(res);
      return this.body(res, AgentRoutes.enroll, async (r) => EnrollResponse.parse(await r.json()));
    });
  }

  private async keysOnce(): Promise<TrustBundle> {
    return this.call(AgentRoutes.keys, {}, async (res) => {
      if (!res.ok) throw await errorFrom(res);
      return this.body(res, AgentRoutes.keys, async (r) => TrustBundle.parse(await r.json()));
    });
  }

  private async bundleOnce(known: number, wait: number, signal?: AbortSignal): Promise<BundleAnswer> {
    return this.call(`${AgentRoutes.bundle}?known=${known}&wait=${wait}`, { authed: true, headers: { "if-none-match": `"v${known}"` } }, async (res): Promise<BundleAnswer> => {
      if (res.status === 204 || res.status === 304) { await res.body.cancel(); return { status: 204 }; }
      if (!res.ok) throw await errorFrom(res);
      const jws = await this.body(res, AgentRoutes.bundle, (r) => readCapped(r, MAX_BUNDLE_JWS_CHARS + 1));
      return { status: 200, jws, version: Number(res.headers.get(BUNDLE_VERSION_HEADER)) };
    }, wait * 1000, signal);
  }

  private async reportsOnce(reports: ReportItemInput[]): Promise<ReportsResponse> {
    return this.call(AgentRoutes.reports, { method: "POST", authed: true, headers: { "content-type": "application/json" }, body: JSON.stringify({ reports }) }, async (res) => {
      if (!res.ok) throw await errorFrom(res);
      return this.body(res, AgentRoutes.reports, async (r) => ReportsResponse.parse(await r.json()));
    });
  }

  private async mqttOnce(): Promise<MqttInfo> {
    return this.call(MQTT_INFO_PATH, { authed: true }, async (res) => {
      if (!res.ok) throw await errorFrom(res);
      return this.body(res, MQTT_INFO_PATH, async (r) => MqttInfo.parse(await r.json()));
    });
  }

  /** A fresh single-use agent JWT (the MQTT password for brokers that verify them), signed on hub time. */
  token(): Promise<string> { return signAgentJwt(this.site, this.key, undefined, new Date(Date.now() + this.clockOffsetMs)); }

  /** Raw artifact download (Range-capable); the caller checks digest and size against the bundle. */
  async artifact(sha256: string, offset = 0, signal?: AbortSignal): Promise<Response> {
    const headers: Record<string, string> = await this.auth();
    if (offset > 0) headers.range = `bytes=${offset}-`;
    const res = await request(joinUrl(this.baseUrl, AgentRoutes.artifact(sha256)), { headers, signal });
    if (!res.ok) throw await errorFrom(res);
    return res;
  }
}
