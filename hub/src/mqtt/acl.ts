import { MqttTopics } from "@outpost/shared";

/**
 * Who a broker connection is, and what it may do. Pure, so the rules are tested on their own and the
 * embedded broker's hooks stay one line each. The same rules are what the hub writes into Mosquitto's
 * dynamic-security roles for an external broker (see dynsec.ts: siteAcls).
 */
export type BrokerIdentity = { kind: "hub" } | { kind: "site"; site: string };

/** A site subscribes to its own bundle and acks topics, exactly (no wildcards); the hub to anything. */
export function maySubscribe(who: BrokerIdentity, filter: string): boolean {
  if (who.kind === "hub") return true;
  return filter === MqttTopics.bundle(who.site) || filter === MqttTopics.acks(who.site);
}

/**
 * A site publishes only to its own reports topic, never retained (a retained report would be
 * re-ingested by every hub that subscribes later, and retained space is the hub's, for bundles).
 */
export function mayPublish(who: BrokerIdentity, topic: string, retain: boolean): boolean {
  if (who.kind === "hub") return !topic.startsWith("$SYS");
  return !retain && topic === MqttTopics.reports(who.site);
}

/**
 * The hub's own clients are named with a '.', which no site name (a DNS label) can contain, so a
 * site can never take over a hub session or pass for the hub by choosing its client id.
 */
export const HUB_CLIENT_PREFIX = "outpost-hub.";
/** The embedded broker's username for the hub's in-process identity ('$' cannot start a site name). */
export const HUB_INTERNAL_USER = "$outpost-hub";
