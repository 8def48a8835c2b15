import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import type { JWK } from "jose";
import type { Artifact, GeneralJws, PublicJwk, SiteState, SiteStatus, Spec } from "@outpost/shared";

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
  role: text("role").$type<"admin">().notNull(),
  createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
});

export type SiteRow = typeof sites.$inferSelect;
export type ReleaseRow = typeof releases.$inferSelect;
export type TokenRow = typeof enrollmentTokens.$inferSelect;
