import type { CryptoKey } from "jose";
import { signAgentJwt } from "../auth/agent-jwt.ts";
import { MAX_BUNDLE_BYTES } from "../bundle/payload.ts";
import { TrustBundle } from "../trust/documents.ts";
import {
  AgentRoutes, BUNDLE_VERSION_HEADER, EnrollResponse, ReportsResponse,
  type EnrollRequest, type ReportItemInput,
} from "../protocol/agent.ts";
import { MQTT_INFO_PATH, MqttInfo } from "../protocol/mqtt.ts";
import { errorFrom, joinUrl, lightRequest, request } from "./http.ts";
import type { LightResponse } from "./node-http.ts";

/** A JWS of a MAX_BUNDLE_BYTES payload, base64url-encoded, plus a header and signature. */
const MAX_BUNDLE_JWS_CHARS = Math.ceil(MAX_BUNDLE_BYTES * 1.4) + 1024;

/**
 * Reads at most `limit` characters of a body and drops the rest: an endless answer (a hostile
 * proxy, a broken hub) must not exhaust the site's memory. A truncated bundle is still handed to
 * verification, which refuses it as BUNDLE_TOO_LARGE and reports it.
 */
async function readCapped(res: LightResponse, limit: number): Promise<string> {
  const decoder = new TextDecoder();
  let out = "";
  for await (const chunk of res.body) {
    out += decoder.decode(chunk, { stream: true });
    if (out.length >= limit) { await res.body.cancel().catch(() => {}); return out.slice(0, limit); }
  }
  return out + decoder.decode();
}

export type BundleAnswer = { status: 200; jws: string; version: number } | { status: 204 };

/**
 * The agent's side of DESIGN §3. Every authenticated call carries a fresh, single-use JWT. JSON
 * exchanges go over node:http (lightRequest: no undici in an agent, no timer waking it while its
 * long-poll is open); artifact downloads, rare and streamed to disk, keep fetch's Response.
 */
export class AgentClient {
  constructor(readonly baseUrl: string, readonly site: string, private readonly key: CryptoKey) {}

  private async auth(): Promise<Record<string, string>> {
    return { authorization: `Bearer ${await signAgentJwt(this.site, this.key)}` };
  }

  async enroll(body: EnrollRequest): Promise<EnrollResponse> {
    const res = await lightRequest(joinUrl(this.baseUrl, AgentRoutes.enroll), {
      method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body),
    });
    if (!res.ok) throw await errorFrom(res);
    return EnrollResponse.parse(await res.json());
  }

  async keys(): Promise<TrustBundle> {
    const res = await lightRequest(joinUrl(this.baseUrl, AgentRoutes.keys), {});
    if (!res.ok) throw await errorFrom(res);
    return TrustBundle.parse(await res.json());
  }

  /** Long-poll: answers at once when the hub holds a version newer than `known`, else after `wait` s with 204. */
  async bundle(known: number, wait: number, signal?: AbortSignal): Promise<BundleAnswer> {
    const url = joinUrl(this.baseUrl, `${AgentRoutes.bundle}?known=${known}&wait=${wait}`);
    const res = await lightRequest(url, { headers: { ...(await this.auth()), "if-none-match": `"v${known}"` }, signal });
    if (res.status === 204 || res.status === 304) { await res.body.cancel(); return { status: 204 }; }
    if (!res.ok) throw await errorFrom(res);
    return { status: 200, jws: await readCapped(res, MAX_BUNDLE_JWS_CHARS + 1), version: Number(res.headers.get(BUNDLE_VERSION_HEADER)) };
  }

  async reports(reports: ReportItemInput[]) {
    const res = await lightRequest(joinUrl(this.baseUrl, AgentRoutes.reports), {
      method: "POST", headers: { ...(await this.auth()), "content-type": "application/json" }, body: JSON.stringify({ reports }),
    });
    if (!res.ok) throw await errorFrom(res);
    return ReportsResponse.parse(await res.json());
  }

  /** How to reach the hub's MQTT broker (404 MQTT_DISABLED when the hub runs without one). */
  async mqtt(): Promise<MqttInfo> {
    const res = await lightRequest(joinUrl(this.baseUrl, MQTT_INFO_PATH), { headers: await this.auth() });
    if (!res.ok) throw await errorFrom(res);
    return MqttInfo.parse(await res.json());
  }

  /** A fresh single-use agent JWT (the MQTT password for brokers that verify them). */
  token(): Promise<string> { return signAgentJwt(this.site, this.key); }

  /** Raw artifact download (Range-capable); the caller checks digest and size against the bundle. */
  async artifact(sha256: string, offset = 0, signal?: AbortSignal): Promise<Response> {
    const headers: Record<string, string> = await this.auth();
    if (offset > 0) headers.range = `bytes=${offset}-`;
    const res = await request(joinUrl(this.baseUrl, AgentRoutes.artifact(sha256)), { headers, signal });
    if (!res.ok) throw await errorFrom(res);
    return res;
  }
}
