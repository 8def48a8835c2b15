import { z } from "zod";
import { SiteName } from "../bundle/names.ts";

/**
 * The MQTT side of DESIGN §3. Topics are per site; the broker lets a site subscribe only to its own
 * bundle and acks topics and publish only (non-retained) to its own reports topic. Whatever arrives
 * on a bundle topic still goes through the agent's one verification path: the topic proves nothing.
 */
export const MQTT_TOPIC_PREFIX = "outpost/v1/sites";
export const MqttTopics = {
  /** Retained, QoS 1: the site's newest signed bundle (the JWS string exactly as HTTPS serves it). */
  bundle: (site: string) => `${MQTT_TOPIC_PREFIX}/${site}/bundle`,
  /** QoS 1, from the site: a `ReportsRequest` JSON body, as POSTed to /agent/v1/reports. */
  reports: (site: string) => `${MQTT_TOPIC_PREFIX}/${site}/reports`,
  /** QoS 1, from the hub: the `ReportsResponse` for a reports message (the ids the hub now holds). */
  acks: (site: string) => `${MQTT_TOPIC_PREFIX}/${site}/acks`,
  /** Between hub replicas only: "site S has bundle version V" (wakes long-polls held elsewhere). */
  hubWake: "outpost/v1/hub/wake",
} as const;

/** `outpost/v1/sites/<site>/<leaf>` -> {site, leaf}; anything else -> null. */
export function parseSiteTopic(topic: string): { site: string; leaf: string } | null {
  const m = /^outpost\/v1\/sites\/([^/+#]+)\/([^/+#]+)$/.exec(topic);
  return m ? { site: m[1]!, leaf: m[2]! } : null;
}

/**
 * GET /agent/v1/mqtt: how this site reaches the broker. `password` is set only when the broker cannot
 * verify agent JWTs (an external Mosquitto): it is then a per-site secret issued over this
 * JWT-authenticated channel, rotated on every call. Otherwise the password is a fresh agent JWT.
 */
export const MQTT_INFO_PATH = "/agent/v1/mqtt";
export const MqttInfo = z.object({
  /** Broker URLs the hub advertises (mqtt://, ws://); the agent may override them. */
  urls: z.array(z.string()),
  username: SiteName,
  clientId: SiteName,
  passwordScheme: z.enum(["jwt", "secret"]),
  password: z.string().optional(),
});
export type MqttInfo = z.output<typeof MqttInfo>;

/** Between replicas: the body of a `hubWake` message (one per batch of issued bundles). */
export const MqttWake = z.object({
  from: z.string(),
  bundles: z.array(z.object({ site: SiteName, version: z.number().int().min(0) })).max(100_000),
});
export type MqttWake = z.output<typeof MqttWake>;
