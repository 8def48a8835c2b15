import type { Logger } from "pino";
import type { AgentClient } from "@outpost/shared";
import type { ReportSender } from "../../report/flusher.ts";
import type { Store } from "../../store/db.ts";
import type { BackoffPolicy } from "../backoff.ts";
import { BundleGate } from "./gate.ts";
import { mqttReportSender } from "./reports.ts";
import { MqttSession } from "./session.ts";

export { MqttSession } from "./session.ts";

export interface Transport {
  /** What the long-poll loop calls for bundles (the hub itself for `https`). */
  bundles: Pick<AgentClient, "bundle">;
  /** Where the outbox flusher sends reports. */
  reports: ReportSender;
  /** The MQTT session, when there is one. */
  session: MqttSession | null;
}

/**
 * Picks the agent's transport (config `transport`): `https` long-polls and POSTs as before; `mqtt`
 * takes bundles and reports over the broker only; `auto` uses MQTT and falls back to the HTTPS
 * long-poll (and POST) whenever the broker cannot be reached. Artifacts, keys and enrollment are
 * always HTTPS. Every bundle, whichever way it came, goes to `onBundle` (the one BundleIntake).
 */
export function createTransport(o: {
  transport: "https" | "mqtt" | "auto";
  site: string;
  client: AgentClient;
  store: Store;
  mqttUrl?: string;
  safetyPollSeconds: number;
  onBundle: (jws: string) => Promise<void>;
  backoff: BackoffPolicy;
  log: Logger;
  signal: AbortSignal;
}): Transport {
  if (o.transport === "https") return { bundles: o.client, reports: o.client, session: null };
  const listeners = new Set<() => void>();
  const upListeners = new Set<() => void>();
  const when = (set: Set<() => void>, now: () => boolean) => (signal: AbortSignal) => new Promise<void>((resolve) => {
    if (now() || signal.aborted) return resolve();
    const done = () => { set.delete(done); signal.removeEventListener("abort", done); resolve(); };
    set.add(done);
    signal.addEventListener("abort", done, { once: true });
  });
  const session = new MqttSession({
    site: o.site, client: o.client, store: o.store, ...(o.mqttUrl ? { url: o.mqttUrl } : {}),
    onBundle: o.onBundle, backoff: o.backoff, log: o.log, signal: o.signal,
    onState: (up) => {
      o.log.info({ transport: up ? "mqtt" : o.transport === "auto" ? "https (fallback)" : "none until the broker is back" }, up ? "bundles now arrive over mqtt" : "mqtt down");
      for (const l of [...(up ? upListeners : listeners)]) l();
    },
  });
  const gate = new BundleGate({
    client: o.client, mode: o.transport, safetyPollMs: o.safetyPollSeconds * 1000,
    mqttUp: () => session.up,
    mqttDown: when(listeners, () => !session.up),
    mqttComesUp: when(upListeners, () => session.up),
  });
  return { bundles: gate, reports: mqttReportSender(session, o.transport === "auto" ? o.client : null), session };
}
