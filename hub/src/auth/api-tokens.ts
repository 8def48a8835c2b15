import { and, desc, eq, isNull } from "drizzle-orm";
import { ulid } from "ulid";
import type { ApiTokenView } from "@outpost/shared";
import type { Queryable } from "../db/client.ts";
import { apiTokens, projectRoles, projects, users, type UserRow } from "../db/schema.ts";
import type { Principal } from "./principal.ts";
import { randomBase64url, sha256Hex } from "./secrets.ts";

/** Every operator API token starts so, which also tells the authenticator it is not a JWT. */
export const API_TOKEN_PREFIX = "opa_";

export const newApiTokenSecret = (): string => API_TOKEN_PREFIX + randomBase64url(32);

type TokenRow = typeof apiTokens.$inferSelect;
export const tokenView = (r: TokenRow): ApiTokenView => ({
  id: r.id, name: r.name, createdAt: r.createdAt.toISOString(),
  expiresAt: r.expiresAt?.toISOString() ?? null, revokedAt: r.revokedAt?.toISOString() ?? null,
});

/** A new token for a user: only its sha256 is stored, the secret is returned to be shown once. */
export async function issueApiToken(tx: Queryable, userId: string, name: string, expiresAt: Date | null, now: Date, secret = newApiTokenSecret()) {
  const row: TokenRow = { id: ulid(), name, tokenHash: sha256Hex(secret), role: "user", createdAt: now, userId, expiresAt, revokedAt: null };
  await tx.insert(apiTokens).values(row);
  return { ...tokenView(row), token: secret };
}

export type TokenCheck = { ok: true; principal: Principal; tokenId: string } | { ok: false; reason: "unknown" | "expired" | "revoked" };

/**
 * The principal an API token acts as. The lookup is by sha256 (an index hit whatever the secret),
 * so timing tells nothing about near-miss secrets.
 */
export async function principalForApiToken(q: Queryable, secret: string, now: Date): Promise<TokenCheck> {
  const [row] = await q.select({ token: apiTokens, user: users }).from(apiTokens)
    .innerJoin(users, eq(apiTokens.userId, users.id)).where(eq(apiTokens.tokenHash, sha256Hex(secret))).limit(1);
  if (!row) return { ok: false, reason: "unknown" };
  if (row.token.revokedAt) return { ok: false, reason: "revoked" };
  if (row.token.expiresAt && row.token.expiresAt.getTime() <= now.getTime()) return { ok: false, reason: "expired" };
  return { ok: true, principal: await userPrincipal(q, row.user), tokenId: row.token.id };
}

export async function userPrincipal(q: Queryable, user: UserRow): Promise<Principal> {
  const grants = await q.select({ project: projects.name, role: projectRoles.role }).from(projectRoles)
    .innerJoin(projects, eq(projectRoles.projectId, projects.id)).where(eq(projectRoles.userId, user.id));
  return {
    actor: `user:${user.name}`, via: "api-token", userId: user.id, hubAdmin: user.hubAdmin,
    roles: Object.fromEntries(grants.map((g) => [g.project, g.role])),
  };
}

export async function listUserTokens(q: Queryable, userId: string): Promise<ApiTokenView[]> {
  const rows = await q.select().from(apiTokens).where(eq(apiTokens.userId, userId)).orderBy(desc(apiTokens.createdAt), desc(apiTokens.id));
  return rows.map(tokenView);
}

/** Revokes one of the user's tokens; null when it is not theirs (or already gone), so others' ids are not confirmed. */
export async function revokeUserToken(tx: Queryable, userId: string, id: string, now: Date): Promise<ApiTokenView | null> {
  const [row] = await tx.update(apiTokens).set({ revokedAt: now })
    .where(and(eq(apiTokens.id, id), eq(apiTokens.userId, userId), isNull(apiTokens.revokedAt))).returning();
  if (row) return tokenView(row);
  const [already] = await tx.select().from(apiTokens).where(and(eq(apiTokens.id, id), eq(apiTokens.userId, userId))).limit(1);
  return already ? tokenView(already) : null;
}
