import { MAX_LONG_POLL_S, type SiteView } from "@outpost/shared";

/**
 * How the dashboard and /metrics bucket a site (pure). A site is "offline" when its agent says its
 * bundle went stale, or when the hub has not heard from it for OFFLINE_AFTER_MS: an agent makes a
 * call at least once per long-poll (at most MAX_LONG_POLL_S) and reports on its own timer, and the
 * hub records last-seen at most every 5 s, so three of the longest possible polls without a word
 * means it is gone rather than between calls. Offline wins over the reported state: that state is
 * old news. "applying" also covers an in-sync site the hub has already issued a newer bundle to.
 */
export const FLEET_STATES = ["in-sync", "applying", "failed", "offline", "pending", "revoked"] as const;
export type FleetState = (typeof FLEET_STATES)[number];

export const OFFLINE_AFTER_MS = 3 * MAX_LONG_POLL_S * 1000;

export const FLEET_STATE_LABELS: Record<FleetState, string> = {
  "in-sync": "In sync", applying: "Applying", failed: "Failed", offline: "Stale / offline", pending: "Pending", revoked: "Revoked",
};

export function fleetState(s: SiteView, now: Date): FleetState {
  if (s.status === "revoked") return "revoked";
  if (s.status === "pending") return "pending";
  const lastSeen = s.lastSeenAt ? Date.parse(s.lastSeenAt) : null;
  if (s.stale || (lastSeen !== null && now.getTime() - lastSeen > OFFLINE_AFTER_MS)) return "offline";
  switch (s.state) {
    case "failed": case "degraded": return "failed";
    case "applying": return "applying";
    case "in-sync": return s.bundleVersion !== null && (s.appliedVersion ?? 0) < s.bundleVersion ? "applying" : "in-sync";
    default: return "pending"; // never reported, or the agent has no bundle yet
  }
}

export function countByState(sites: readonly SiteView[], now: Date): Record<FleetState, number> {
  const out = Object.fromEntries(FLEET_STATES.map((s) => [s, 0])) as Record<FleetState, number>;
  for (const s of sites) out[fleetState(s, now)]++;
  return out;
}
