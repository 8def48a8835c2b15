import { eq, isNull } from "drizzle-orm";
import { ulid } from "ulid";
import type { HubDb, Queryable } from "../db/client.ts";
import { apiTokens, users } from "../db/schema.ts";
import { API_TOKEN_PREFIX, issueApiToken, newApiTokenSecret } from "./api-tokens.ts";
import { sha256Hex } from "./secrets.ts";

export const ADMIN_TOKEN_PREFIX = API_TOKEN_PREFIX;
/** The user the first start's token belongs to: a hub admin (admin on every project). */
export const ADMIN_USER = "admin";

export function newAdminToken(): string { return newApiTokenSecret(); }

/**
 * First start only: create the `admin` user (a hub admin) and its API token (the given one, for
 * automation, else a random one) and return the token so it can be shown once. Only its sha256 is
 * stored; it never expires, as automation that set OUTPOST_ADMIN_TOKEN expects. Later starts
 * return null, after adopting an admin token made before users existed.
 */
export async function ensureAdminToken(hub: HubDb, given: string | undefined, now = new Date(), warn: (msg: string) => void = () => {}): Promise<string | null> {
  return hub.write(async (db) => {
    const [existing] = await db.select({ id: apiTokens.id }).from(apiTokens).limit(1);
    if (existing) {
      await adoptOrphanTokens(db, now);
      if (given !== undefined) {
        const [same] = await db.select({ id: apiTokens.id }).from(apiTokens).where(eq(apiTokens.tokenHash, sha256Hex(given))).limit(1);
        // Setting the variable again does not replace the token: say so rather than leave people guessing at 401s.
        if (!same) warn("the given admin token was ignored: an admin token already exists (it is only set on the first start)");
      }
      return null;
    }
    if (given !== undefined && given.length < 16) throw new Error("the admin token must be at least 16 characters");
    const userId = await adminUserId(db, now);
    return (await issueApiToken(db, userId, "admin", null, now, given ?? newAdminToken())).token;
  });
}

/** A hub upgraded from before users had one admin token and no user: it becomes the admin user's. */
async function adoptOrphanTokens(db: Queryable, now: Date): Promise<void> {
  const orphans = await db.select({ id: apiTokens.id }).from(apiTokens).where(isNull(apiTokens.userId));
  if (!orphans.length) return;
  const userId = await adminUserId(db, now);
  await db.update(apiTokens).set({ userId }).where(isNull(apiTokens.userId));
}

async function adminUserId(db: Queryable, now: Date): Promise<string> {
  const [user] = await db.select({ id: users.id }).from(users).where(eq(users.name, ADMIN_USER)).limit(1);
  if (user) return user.id;
  const id = ulid();
  await db.insert(users).values({ id, name: ADMIN_USER, hubAdmin: true, createdAt: now });
  return id;
}
