import type { Logger } from "pino";
import type { HubDb } from "../db/client.ts";
import type { BundleNotifier } from "../notify/notifier.ts";
import { HubBus, redactUrl } from "./bus.ts";
import { resolveMqtt, type MqttOptions } from "./config.ts";
import { Dynsec } from "./dynsec.ts";
import { startEmbeddedBroker, type EmbeddedBroker } from "./embedded.ts";
import type { MqttAccess } from "./route.ts";
import { approvedSiteNames } from "./site-auth.ts";

export type { MqttOptions } from "./config.ts";
export type { MqttAccess } from "./route.ts";
export { registerMqttInfo } from "./route.ts";

export interface RunningMqtt {
  mode: "embedded" | "external";
  /** Where agents reach the broker (as advertised; the embedded broker's use the hub's host). */
  urls: string[];
  notifier: BundleNotifier;
  access: MqttAccess;
  bus: HubBus;
  embedded: EmbeddedBroker | null;
  /** Disconnects / deprovisions sites that are no longer approved (also run on a timer). */
  sweep(): Promise<void>;
  close(): Promise<void>;
}

/** How often sites that were revoked or removed lose their broker access, at the latest. */
const SWEEP_EVERY_MS = 5000;

/** Starts the hub's MQTT side, or returns null when it is switched off (OUTPOST_MQTT=off). */
export async function startMqtt(o: { hub: HubDb; logger: Logger; now: () => Date; host: string; options: MqttOptions }): Promise<RunningMqtt | null> {
  const cfg = resolveMqtt(o.options);
  if (cfg.mode === "off") return null;
  const log = o.logger.child({ component: "mqtt" });

  if (cfg.mode === "embedded") {
    const embedded = await startEmbeddedBroker({ hub: o.hub, logger: o.logger, host: o.host, port: cfg.port, wsPort: cfg.wsPort, now: o.now });
    try {
      const loopback = o.host === "0.0.0.0" || o.host === "::" ? "127.0.0.1" : o.host;
      const hostPart = (h: string) => (h.includes(":") ? `[${h}]` : h);
      const bus = new HubBus({
        hub: o.hub, logger: o.logger, now: o.now, url: `mqtt://${hostPart(loopback)}:${embedded.port}`,
        username: embedded.internal.username, password: embedded.internal.password, sharedReports: false,
      });
      await bus.start();
      const urlsFor = (h: string) => [`mqtt://${hostPart(h)}:${embedded.port}`, ...(embedded.wsPort !== null ? [`ws://${hostPart(h)}:${embedded.wsPort}`] : [])];
      const sweep = async () => { await embedded.sweep(); };
      return finish({
        mode: "embedded", urls: urlsFor(o.host), notifier: bus.notifier, bus, embedded, sweep,
        access: {
          // Agents reach the broker by the name they reach the hub by, unless told otherwise.
          info: async (site, requestHost) => ({ urls: cfg.publicUrls.length ? cfg.publicUrls : urlsFor(requestHost), username: site, clientId: site, passwordScheme: "jwt" }),
          revoke: async (site) => { await embedded.disconnect(site); },
        },
        close: async () => { await bus.close(); await embedded.close(); },
      }, log);
    } catch (e) { await embedded.close(); throw e; }
  }

  let dynsec: Dynsec | null = null;
  const bus = new HubBus({
    hub: o.hub, logger: o.logger, now: o.now, url: cfg.url, username: cfg.username, password: cfg.password, sharedReports: true,
    onConnect: async (client) => {
      dynsec ??= new Dynsec(client);
      await dynsec.ensureHubRole(cfg.username);
    },
  });
  await bus.start();
  const ds = () => { if (!dynsec) throw new Error("broker not connected yet"); return dynsec; };
  const sweep = async () => {
    const approved = await approvedSiteNames(o.hub);
    for (const site of await ds().siteClients()) {
      if (!approved.has(site)) { await ds().removeSite(site); log.info({ site }, "removed the broker client of a site that is no longer approved"); }
    }
  };
  log.info({ broker: redactUrl(cfg.url) }, "using an external MQTT broker");
  return finish({
    mode: "external", urls: cfg.publicUrls, notifier: bus.notifier, bus, embedded: null, sweep,
    access: {
      info: async (site) => ({ urls: cfg.publicUrls, username: site, clientId: site, passwordScheme: "secret", password: await ds().provisionSite(site) }),
      // Deleting the account makes Mosquitto drop the session at once.
      revoke: async (site) => { await ds().removeSite(site); },
    },
    close: () => bus.close(),
  }, log);
}

function finish(m: RunningMqtt, log: Logger): RunningMqtt {
  const timer = setInterval(() => { m.sweep().catch((e: unknown) => log.warn({ err: (e as Error).message }, "mqtt access sweep failed")); }, SWEEP_EVERY_MS);
  timer.unref();
  const close = m.close;
  return { ...m, close: async () => { clearInterval(timer); await close(); } };
}
