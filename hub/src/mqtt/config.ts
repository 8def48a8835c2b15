/**
 * The hub's MQTT settings, from startHub options then the environment. By default an embedded broker
 * starts with the hub (TCP 1883, WebSocket 8083); MQTT_URL points the hub at an external broker
 * (Mosquitto 2 with the dynamic-security plugin, EMQX) instead; OUTPOST_MQTT=off runs HTTPS only.
 */
export interface MqttOptions {
  /** false: no broker, agents use HTTPS only. env OUTPOST_MQTT=off. */
  mqtt?: boolean;
  /** Embedded broker TCP port, default 1883, 0 = ephemeral; env OUTPOST_MQTT_PORT. */
  mqttPort?: number;
  /** Embedded broker WebSocket port, default 8083, 0 = ephemeral, null = none; env OUTPOST_MQTT_WS_PORT ("off"). */
  mqttWsPort?: number | null;
  /** External broker (mqtt://, mqtts://, ws://); env MQTT_URL. */
  mqttUrl?: string;
  /** The hub's own account on the external broker (a dynsec admin); env MQTT_USERNAME / MQTT_PASSWORD. */
  mqttUsername?: string;
  mqttPassword?: string;
  /** Broker URLs to advertise to agents (comma list in OUTPOST_MQTT_PUBLIC_URL); default: see route.ts. */
  mqttPublicUrls?: string[];
}

export type ResolvedMqtt =
  | { mode: "off" }
  | { mode: "embedded"; port: number; wsPort: number | null; publicUrls: string[] }
  | { mode: "external"; url: string; username: string; password: string; publicUrls: string[] };

export function resolveMqtt(o: MqttOptions, env: Record<string, string | undefined> = process.env): ResolvedMqtt {
  const off = o.mqtt === false || /^(off|false|0|no)$/i.test(env.OUTPOST_MQTT ?? "");
  if (off) return { mode: "off" };
  const publicUrls = o.mqttPublicUrls ?? (env.OUTPOST_MQTT_PUBLIC_URL ? env.OUTPOST_MQTT_PUBLIC_URL.split(",").map((s) => s.trim()).filter(Boolean) : []);
  const url = o.mqttUrl ?? (env.MQTT_URL || undefined);
  if (url) {
    const username = o.mqttUsername ?? env.MQTT_USERNAME ?? "";
    const password = o.mqttPassword ?? env.MQTT_PASSWORD ?? "";
    if (!username || !password) throw new Error("MQTT_URL needs MQTT_USERNAME and MQTT_PASSWORD: the hub's dynamic-security admin account on that broker");
    return { mode: "external", url, username, password, publicUrls: publicUrls.length ? publicUrls : [stripCredentials(url)] };
  }
  const port = o.mqttPort ?? portFromEnv("OUTPOST_MQTT_PORT", env.OUTPOST_MQTT_PORT) ?? 1883;
  const wsPort = o.mqttWsPort !== undefined ? o.mqttWsPort : (/^off$/i.test(env.OUTPOST_MQTT_WS_PORT ?? "") ? null : portFromEnv("OUTPOST_MQTT_WS_PORT", env.OUTPOST_MQTT_WS_PORT) ?? 8083);
  return { mode: "embedded", port, wsPort, publicUrls };
}

function portFromEnv(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined || raw === "") return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`${name} must be a port 0-65535, got '${raw}'`);
  return n;
}

function stripCredentials(url: string): string {
  try { const u = new URL(url); u.username = ""; u.password = ""; return u.toString().replace(/\/$/, ""); } catch { return url; }
}
