import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import type { JWK } from "jose";
import type { Artifact, GeneralJws, PublicJwk, RolloutStatus, SiteProgressState, SiteState, SiteStatus, Spec, Strategy } from "@outpost/shared";

/**
 * The hub's whole state. Timestamps are integer milliseconds (drizzle turns them into Dates) so
 * ordering never depends on how an ISO string happened to be formatted. JSON columns hold values
 * that were validated by the shared zod schemas on the way in.
 */

/** Tenants. Everything below carries a project; a `default` project is created at start. */
export const projects = sqliteTable("projects", {
  id: text("id").primaryKey(),
  name: text("name").notNull().unique(),
  createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
});

export const sites = sqliteTable("sites", {
  id: text("id").primaryKey(),
  projectId: text("project_id").notNull().references(() => projects.id),
  /** Globally unique: it is the agent's JWT issuer and its MQTT topic segment. */
  name: text("name").notNull().unique(),
  labels: text("labels", { mode: "json" }).$type<Record<string, string>>().notNull(),
  publicKey: text("public_key", { mode: "json" }).$type<PublicJwk>().notNull(),
  status: text("status").$type<SiteStatus>().notNull(),
  createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
  approvedAt: integer("approved_at", { mode: "timestamp_ms" }),
  lastSeenAt: integer("last_seen_at", { mode: "timestamp_ms" }),
  // What the site last said about itself (its newest status report by `at`).
  state: text("state").$type<SiteState>(),
  stale: integer("stale", { mode: "boolean" }).notNull().default(false),
  appliedVersion: integer("applied_version"),
  /** "name@version" of the release the site reports running. */
  reportedRelease: text("reported_release"),
  statusAt: integer("status_at", { mode: "timestamp_ms" }),
});

export const enrollmentTokens = sqliteTable("enrollment_tokens", {
  id: text("id").primaryKey(),
  projectId: text("project_id").notNull().references(() => projects.id),
  /** sha256 (hex) of the secret: the secret itself is shown once and never stored. */
  secretHash: text("secret_hash").notNull(),
  labels: text("labels", { mode: "json" }).$type<Record<string, string>>().notNull(),
  autoApprove: integer("auto_approve", { mode: "boolean" }).notNull(),
  usesLeft: integer("uses_left").notNull(),
  expiresAt: integer("expires_at", { mode: "timestamp_ms" }).notNull(),
  createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
});

export const releases = sqliteTable("releases", {
  id: text("id").primaryKey(),
  projectId: text("project_id").notNull().references(() => projects.id),
  name: text("name").notNull(),
  version: text("version").notNull(),
  description: text("description").notNull(),
  spec: text("spec", { mode: "json" }).$type<Spec>().notNull(),
  artifacts: text("artifacts", { mode: "json" }).$type<Artifact[]>().notNull(),
  createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
}, (t) => [uniqueIndex("releases_project_name_version").on(t.projectId, t.name, t.version)]);

/** The release each site should run now (the newest bundle says the same, signed). */
export const assignments = sqliteTable("assignments", {
  siteId: text("site_id").primaryKey().references(() => sites.id),
  releaseId: text("release_id").notNull().references(() => releases.id),
  assignedAt: integer("assigned_at", { mode: "timestamp_ms" }).notNull(),
});

export const bundles = sqliteTable("bundles", {
  id: text("id").primaryKey(),
  siteId: text("site_id").notNull().references(() => sites.id),
  version: integer("version").notNull(),
  releaseId: text("release_id").notNull().references(() => releases.id),
  /** Compact JWS exactly as served: the hub never re-signs an issued version. */
  jws: text("jws").notNull(),
  issuedAt: integer("issued_at", { mode: "timestamp_ms" }).notNull(),
  expiresAt: integer("expires_at", { mode: "timestamp_ms" }).notNull(),
}, (t) => [uniqueIndex("bundles_site_version").on(t.siteId, t.version)]);

export type ReportKind = "status" | "telemetry" | "event";
export const reports = sqliteTable("reports", {
  /** The agent's ULID: a re-sent report hits the primary key and is dropped (exactly-once storage). */
  id: text("id").primaryKey(),
  siteId: text("site_id").notNull().references(() => sites.id),
  kind: text("kind").$type<ReportKind>().notNull(),
  at: integer("at", { mode: "timestamp_ms" }).notNull(),
  receivedAt: integer("received_at", { mode: "timestamp_ms" }).notNull(),
  body: text("body", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
}, (t) => [index("reports_site_kind").on(t.siteId, t.kind), index("reports_at").on(t.at)]);

export type KeyStatus = "active" | "retired";
/** Online signing keys. The private JWK lives here so every hub replica can sign. */
export const signingKeys = sqliteTable("signing_keys", {
  kid: text("kid").primaryKey(),
  role: text("role").$type<"bundle">().notNull(),
  publicJwk: text("public_jwk", { mode: "json" }).$type<PublicJwk>().notNull(),
  privateJwk: text("private_jwk", { mode: "json" }).$type<JWK>().notNull(),
  status: text("status").$type<KeyStatus>().notNull(),
  retiredReason: text("retired_reason"),
  createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
  retiredAt: integer("retired_at", { mode: "timestamp_ms" }),
});

/** Every root document ever signed, and every keys document (the newest is served). */
export const trustDocuments = sqliteTable("trust_documents", {
  kind: text("kind").$type<"root" | "keys">().notNull(),
  version: integer("version").notNull(),
  jws: text("jws", { mode: "json" }).$type<GeneralJws>().notNull(),
  createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
}, (t) => [primaryKey({ columns: [t.kind, t.version] })]);

/** Agent request-token ids seen recently (replay protection); purged once they could no longer verify. */
export const usedJtis = sqliteTable("used_jtis", {
  jti: text("jti").primaryKey(),
  expiresAt: integer("expires_at", { mode: "timestamp_ms" }).notNull(),
}, (t) => [index("used_jtis_expires").on(t.expiresAt)]);

export const apiTokens = sqliteTable("api_tokens", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  /** sha256 (hex) of the token; the token itself is shown once. */
  tokenHash: text("token_hash").notNull().unique(),
  /** Legacy column: every token now acts as its user (src/auth/principal.ts); kept so old rows still read. */
  role: text("role").$type<"admin" | "user">().notNull(),
  createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
  /** Whose roles the token carries. Null only on a pre-users admin token, adopted at start (auth/users.ts). */
  userId: text("user_id"),
  expiresAt: integer("expires_at", { mode: "timestamp_ms" }),
  revokedAt: integer("revoked_at", { mode: "timestamp_ms" }),
});

// --- Operators (DESIGN §6; src/auth, src/audit) ---------------------------------------------

/** People and automation. A hub admin has the admin role on every project, present and future. */
export const users = sqliteTable("users", {
  id: text("id").primaryKey(),
  name: text("name").notNull().unique(),
  hubAdmin: integer("hub_admin", { mode: "boolean" }).notNull().default(false),
  createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
});

export type ProjectRole = "viewer" | "operator" | "admin";
/** One role per user per project; no row = no access to that project. */
export const projectRoles = sqliteTable("project_roles", {
  userId: text("user_id").notNull().references(() => users.id),
  projectId: text("project_id").notNull().references(() => projects.id),
  role: text("role").$type<ProjectRole>().notNull(),
}, (t) => [primaryKey({ columns: [t.userId, t.projectId] })]);

/** Every mutating operator call (and enrollment): who, what, when, from where, result. Never bodies. */
export const auditLog = sqliteTable("audit_log", {
  id: integer("id").primaryKey({ autoIncrement: true }),
  at: integer("at", { mode: "timestamp_ms" }).notNull(),
  /** `user:<name>`, `oidc:<subject>`, `site:<name>` or `anonymous`. */
  actor: text("actor").notNull(),
  /** Null for hub-wide calls (projects, API tokens) and refusals before a project was known. */
  projectId: text("project_id"),
  method: text("method").notNull(),
  /** The route template (`/api/v1/sites/:site/approve`), so entries group by action. */
  route: text("route").notNull(),
  /** The path parameters (`site=eu-1`), or "" for collection calls. */
  target: text("target").notNull(),
  sourceIp: text("source_ip"),
  status: integer("status").notNull(),
  requestId: text("request_id").notNull(),
}, (t) => [index("audit_project_id").on(t.projectId, t.id), index("audit_actor").on(t.actor)]);

// --- Rollouts (DESIGN §5; src/rollouts) ------------------------------------------------------

/**
 * One rollout and the engine's position in it. Every change bumps `rev`, so a tick that decided on
 * an older row writes nothing (an operator action or another replica got there first).
 */
export const rollouts = sqliteTable("rollouts", {
  id: text("id").primaryKey(),
  projectId: text("project_id").notNull().references(() => projects.id),
  releaseId: text("release_id").notNull().references(() => releases.id),
  selector: text("selector").notNull(),
  strategy: text("strategy", { mode: "json" }).$type<Strategy>().notNull(),
  status: text("status").$type<RolloutStatus>().notNull(),
  pauseReason: text("pause_reason").$type<"operator" | "wave-failed">(),
  /** Sites per wave, fixed when the rollout starts (empty waves dropped); index = wave. */
  waveSizes: text("wave_sizes", { mode: "json" }).$type<number[]>().notNull(),
  /** Strategy entry each planned wave came from (for display). */
  waveTargets: text("wave_targets", { mode: "json" }).$type<(number | string)[]>().notNull(),
  currentWave: integer("current_wave").notNull(),
  /** "active": currentWave is running; "done": it ended (or, at -1, none began yet). */
  waveState: text("wave_state").$type<"active" | "done">().notNull(),
  waveChangedAt: integer("wave_changed_at", { mode: "timestamp_ms" }),
  /** Highest wave an operator approved to begin (manual approval); start approves wave 0. */
  approvedWave: integer("approved_wave").notNull(),
  /** A wave whose failed threshold an operator waived by resuming (-1: none). */
  waivedWave: integer("waived_wave").notNull(),
  rev: integer("rev").notNull(),
  createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
  startedAt: integer("started_at", { mode: "timestamp_ms" }),
  finishedAt: integer("finished_at", { mode: "timestamp_ms" }),
}, (t) => [index("rollouts_status").on(t.status)]);

/** Each site of a started rollout, its wave and how far it got. (rollout, site) is unique: one wave per site. */
export const rolloutSites = sqliteTable("rollout_sites", {
  rolloutId: text("rollout_id").notNull().references(() => rollouts.id),
  siteId: text("site_id").notNull().references(() => sites.id),
  wave: integer("wave").notNull(),
  /** Order within the wave (the plan's order: groups interleaved). */
  position: integer("position").notNull(),
  /** groupBy label value at start: the disruption-budget bucket. */
  group: text("group_key").notNull(),
  /** IANA zone from the site's timezone label at start, or null (the window's own zone). */
  timezone: text("timezone"),
  state: text("state").$type<SiteProgressState>().notNull(),
  /** The bundle version the rollout issued to it (success = that version applied and in sync). */
  bundleVersion: integer("bundle_version"),
  /** The release it was assigned before this rollout touched it: what a rollback restores. */
  previousReleaseId: text("previous_release_id").references(() => releases.id),
  rollbackVersion: integer("rollback_version"),
  startedAt: integer("started_at", { mode: "timestamp_ms" }),
  finishedAt: integer("finished_at", { mode: "timestamp_ms" }),
}, (t) => [primaryKey({ columns: [t.rolloutId, t.siteId] }), index("rollout_sites_wave").on(t.rolloutId, t.wave, t.position)]);

/** Append-only history of a rollout: what the engine and operators did, in order (id). */
export const rolloutEvents = sqliteTable("rollout_events", {
  id: integer("id").primaryKey({ autoIncrement: true }),
  rolloutId: text("rollout_id").notNull().references(() => rollouts.id),
  at: integer("at", { mode: "timestamp_ms" }).notNull(),
  type: text("type").notNull(),
  wave: integer("wave"),
  site: text("site"),
  group: text("group_key"),
  /** The lease holder (hub replica) for engine decisions, "operator" for API actions. */
  actor: text("actor").notNull(),
  details: text("details", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
}, (t) => [index("rollout_events_rollout").on(t.rolloutId, t.id)]);

/** Named leases: with several hub replicas only the holder of "rollouts" runs the engine. */
export const leases = sqliteTable("leases", {
  name: text("name").primaryKey(),
  holder: text("holder").notNull(),
  expiresAt: integer("expires_at", { mode: "timestamp_ms" }).notNull(),
});

export type SiteRow = typeof sites.$inferSelect;
export type ReleaseRow = typeof releases.$inferSelect;
export type TokenRow = typeof enrollmentTokens.$inferSelect;
export type RolloutRow = typeof rollouts.$inferSelect;
export type RolloutSiteRow = typeof rolloutSites.$inferSelect;
export type UserRow = typeof users.$inferSelect;
