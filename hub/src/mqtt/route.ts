import type { Hono, MiddlewareHandler } from "hono";
import { MQTT_INFO_PATH, type MqttInfo } from "@outpost/shared";
import type { HubDeps, HubEnv } from "../api/deps.ts";
import { HttpError } from "../api/errors.ts";

/** What the agent API needs from the MQTT side (deps.mqtt); absent when the hub runs HTTPS only. */
export interface MqttAccess {
  /** Broker coordinates for an approved site; `requestHost` is the host name the agent reached the hub by. */
  info(site: string, requestHost: string): Promise<MqttInfo>;
  /**
   * Cuts a site's broker access now, once it is no longer approved (removed): its session is closed
   * and, on an external broker, its account deleted. The periodic sweep does the same within 5 s.
   */
  revoke(site: string): Promise<void>;
}

/**
 * GET /agent/v1/mqtt: where the broker is and how to log in. Behind the agent JWT, so only an approved
 * site's key holder learns it; with an external broker this is also where its broker password comes
 * from (a new one on every call, so a leaked one is replaced by the agent's next fetch).
 */
export function registerMqttInfo(app: Hono<HubEnv>, deps: HubDeps & { mqtt?: MqttAccess }, auth: MiddlewareHandler<HubEnv>): void {
  app.get(MQTT_INFO_PATH.replace(/^\/agent\/v1/, ""), auth, async (c) => {
    if (!deps.mqtt) throw new HttpError(404, "MQTT_DISABLED", "this hub runs without an MQTT broker; use HTTPS");
    let info: MqttInfo;
    try {
      info = await deps.mqtt.info(c.get("site").name, new URL(c.req.url).hostname);
    } catch (e) {
      // The broker is restarting or unreachable: the agent retries (and keeps HTTPS meanwhile).
      deps.logger.warn({ err: (e as Error).message }, "cannot issue mqtt credentials now");
      throw new HttpError(503, "MQTT_UNAVAILABLE", "the MQTT broker cannot be reached from the hub right now");
    }
    c.header("cache-control", "no-store");
    return c.json(info satisfies MqttInfo);
  });
}
