import { z } from "zod";
import { Name, SiteName } from "../bundle/names.ts";
import { ReleaseRef } from "../bundle/payload.ts";
import { Artifact, Spec } from "../bundle/spec.ts";
import { SiteState, SiteStatus } from "./agent.ts";
import { LabelKey, LabelMap } from "./labels.ts";

/** Operator API (people and the CLI), under /api/v1, authenticated with a bearer API token. */
export const OperatorRoutes = {
  tokens: "/api/v1/tokens",
  sites: "/api/v1/sites",
  site: (s: string) => `/api/v1/sites/${encodeURIComponent(s)}`,
  approve: (s: string) => `/api/v1/sites/${encodeURIComponent(s)}/approve`,
  revoke: (s: string) => `/api/v1/sites/${encodeURIComponent(s)}/revoke`,
  token: (id: string) => `/api/v1/tokens/${encodeURIComponent(id)}`,
  labels: (s: string) => `/api/v1/sites/${encodeURIComponent(s)}/labels`,
  releases: "/api/v1/releases",
  assignments: "/api/v1/assignments",
  reports: "/api/v1/reports",
} as const;

export const CreateTokenRequest = z.strictObject({
  /** Labels every site that enrolls with this token starts with. */
  labels: LabelMap.default({}),
  /** Approve sites on enrollment (a token made for a batch of trusted installs). */
  autoApprove: z.boolean().default(false),
  expiresInHours: z.number().int().min(1).max(24 * 365).default(24),
  /** How many sites may enroll with it. */
  uses: z.number().int().min(1).max(100_000).default(1),
});
export const CreateTokenResponse = z.object({ id: z.string(), token: z.string(), expiresAt: z.string(), uses: z.number() });
/** The id part of an enrollment token (`opt1.<root>.<id>.<secret>`), as `outpost enroll-token list` shows it. */
export const EnrollmentTokenId = z.string().regex(/^[a-z0-9]{16}$/, "must be an enrollment token id (16 lowercase letters and digits) as `outpost enroll-token list` prints it");
/** An enrollment token without its secret; `usable`: uses left and not expired. */
export const EnrollmentTokenView = z.object({
  id: z.string(), labels: z.record(z.string(), z.string()), autoApprove: z.boolean(), usesLeft: z.number().int(),
  expiresAt: z.string(), createdAt: z.string(), usable: z.boolean(),
});
export type EnrollmentTokenView = z.output<typeof EnrollmentTokenView>;
export const EnrollmentTokenList = z.object({ tokens: z.array(EnrollmentTokenView) });

export const SiteView = z.object({
  name: SiteName,
  status: SiteStatus,
  labels: z.record(z.string(), z.string()),
  state: SiteState.nullable(),
  stale: z.boolean(),
  /** Latest bundle the hub issued for it, and the one it last reported applied. */
  bundleVersion: z.number().int().nullable(),
  appliedVersion: z.number().int().nullable(),
  release: z.string().nullable(),
  lastSeenAt: z.string().nullable(),
  createdAt: z.string(),
});
export type SiteView = z.output<typeof SiteView>;

export const LabelPatch = z.strictObject({
  set: LabelMap.default({}),
  remove: z.array(LabelKey).max(64).default([]),
});

export const CreateReleaseRequest = z.strictObject({
  name: Name,
  version: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$/, "release versions are 1-64 characters of letters, digits, '.', '_', '+', '-'"),
  description: z.string().max(4096).default(""),
  spec: Spec,
  artifacts: z.array(Artifact).max(256).default([]),
});
export type CreateReleaseRequest = z.input<typeof CreateReleaseRequest>;
export const ReleaseView = z.object({
  id: z.string(), name: z.string(), version: z.string(), description: z.string(), createdAt: z.string(),
  spec: z.unknown(), artifacts: z.array(z.unknown()),
});

export const AssignRequest = z.strictObject({
  release: ReleaseRef,
  selector: z.string().max(4096),
  /** Refuse to assign to more sites than this (guards a typo like an empty selector). */
  maxSites: z.number().int().min(1).optional(),
});
export const AssignResponse = z.object({
  release: ReleaseRef,
  assigned: z.array(z.object({ site: SiteName, version: z.number().int() })),
});

export const ReportsQuery = z.strictObject({
  site: SiteName.optional(),
  kind: z.enum(["status", "telemetry", "event"]).optional(),
  type: z.string().max(64).optional(),
  limit: z.coerce.number().int().min(1).max(10_000).default(100),
});
export const ReportView = z.object({
  id: z.string(), site: z.string(), kind: z.string(), at: z.string(), receivedAt: z.string(), body: z.record(z.string(), z.unknown()),
});
export type ReportView = z.output<typeof ReportView>;
