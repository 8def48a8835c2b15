import { z } from "zod";
import { SiteName } from "../bundle/names.ts";
import { PublicJwk } from "../trust/documents.ts";
import { LabelMap } from "./labels.ts";

/** The agent API, as in DESIGN §3. Paths are relative to the hub's base URL. */
export const AgentRoutes = {
  enroll: "/agent/v1/enroll",
  keys: "/agent/v1/keys",
  bundle: "/agent/v1/bundle",
  reports: "/agent/v1/reports",
  artifact: (sha256: string) => `/agent/v1/artifacts/${sha256}`,
} as const;

/** Longest a long-poll may be held; the agent asks for less than its HTTP timeout. */
export const MAX_LONG_POLL_S = 60;
export const BUNDLE_CONTENT_TYPE = "application/jose";
export const BUNDLE_VERSION_HEADER = "x-outpost-bundle-version";

export const EnrollRequest = z.strictObject({
  token: z.string().min(1).max(512),
  site: SiteName,
  publicKey: PublicJwk,
  labels: LabelMap.default({}),
});
export type EnrollRequest = z.input<typeof EnrollRequest>;
export const SiteStatus = z.enum(["pending", "approved", "revoked"]);
export type SiteStatus = z.output<typeof SiteStatus>;
export const EnrollResponse = z.object({ site: SiteName, status: SiteStatus });
export type EnrollResponse = z.output<typeof EnrollResponse>;

export const BundleQuery = z.strictObject({
  known: z.coerce.number().int().min(0).default(0),
  wait: z.coerce.number().int().min(0).max(MAX_LONG_POLL_S).default(0),
});

// --- Reports -----------------------------------------------------------------------------------
export const Ulid = z.string().regex(/^[0-9A-HJKMNP-TV-Z]{26}$/, "must be a ULID");

export const SiteState = z.enum(["in-sync", "applying", "degraded", "failed", "pending"]);
export type SiteState = z.output<typeof SiteState>;

export const StatusBody = z.strictObject({
  bundleVersion: z.number().int().min(0).nullable(),
  release: z.strictObject({ name: z.string(), version: z.string() }).nullable(),
  state: SiteState,
  /** True when the last good bundle has expired and no newer one could be had (offline too long). */
  stale: z.boolean(),
  lastAppliedAt: z.iso.datetime().nullable(),
  pendingSteps: z.number().int().min(0).default(0),
  agentVersion: z.string().max(64),
  message: z.string().max(2048).optional(),
});
export type StatusBody = z.output<typeof StatusBody>;

export const TelemetryBody = z.strictObject({
  metrics: z.record(z.string().max(128), z.number()).refine((m) => Object.keys(m).length <= 256, "at most 256 metrics"),
});

export const EventType = z.enum([
  "enrolled", "bundle-received", "bundle-rejected", "applied", "apply-failed",
  "drift-healed", "heal-failed", "step-quarantined", "stale", "ceph-health", "keys-updated",
  "clock-skew", "storage-full",
]);
export type EventType = z.output<typeof EventType>;
/**
 * How deep an event's free-form `details` may nest. Deeper JSON parses (JSON.parse does not recurse)
 * but cannot be stored or served again (JSON.stringify does): a few thousand levels made the hub
 * answer 500 and drop a whole MQTT batch. The agent's own details nest a handful of levels.
 */
export const MAX_DETAILS_DEPTH = 32;

/** Whether `v` nests at most `max` arrays / objects deep; iterative, so any depth is safe to ask about. */
export function nestsAtMost(v: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[v, 0]];
  while (stack.length) {
    const [x, d] = stack.pop()!;
    if (x === null || typeof x !== "object") continue;
    if (d >= max) return false;
    for (const child of Object.values(x)) stack.push([child, d + 1]);
  }
  return true;
}

export const EventBody = z.strictObject({
  type: EventType,
  severity: z.enum(["info", "warning", "error"]).default("info"),
  message: z.string().max(4096),
  bundleVersion: z.number().int().min(0).optional(),
  code: z.string().max(64).optional(),
  details: z.record(z.string(), z.unknown())
    .refine((d) => nestsAtMost(d, MAX_DETAILS_DEPTH), `nested more than ${MAX_DETAILS_DEPTH} levels deep`).optional(),
});
export type EventBody = z.output<typeof EventBody>;

export const ReportItem = z.discriminatedUnion("kind", [
  z.strictObject({ id: Ulid, at: z.iso.datetime(), kind: z.literal("status"), body: StatusBody }),
  z.strictObject({ id: Ulid, at: z.iso.datetime(), kind: z.literal("telemetry"), body: TelemetryBody }),
  z.strictObject({ id: Ulid, at: z.iso.datetime(), kind: z.literal("event"), body: EventBody }),
]);
export type ReportItem = z.output<typeof ReportItem>;
export type ReportItemInput = z.input<typeof ReportItem>;

export const MAX_REPORTS_PER_POST = 500;
export const ReportsRequest = z.strictObject({ reports: z.array(ReportItem).min(1).max(MAX_REPORTS_PER_POST) });
/** `acked` lists every id the hub now holds (new or duplicate): the agent may delete exactly those. */
export const ReportsResponse = z.object({ acked: z.array(Ulid), stored: z.number().int(), duplicates: z.number().int() });
export type ReportsResponse = z.output<typeof ReportsResponse>;
