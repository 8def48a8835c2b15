import { eq } from "drizzle-orm";
import type { MiddlewareHandler } from "hono";
import { ulid } from "ulid";
import type { HubDb } from "../db/client.ts";
import { apiTokens } from "../db/schema.ts";
import { HttpError } from "../api/errors.ts";
import { randomBase64url, sha256Hex } from "./secrets.ts";

export const ADMIN_TOKEN_PREFIX = "opa_";

export function newAdminToken(): string { return ADMIN_TOKEN_PREFIX + randomBase64url(32); }

/**
 * First start only: create the admin API token (the given one, for automation, else a random one)
 * and return it so it can be shown once. Only its sha256 is stored. Later starts return null.
 */
export async function ensureAdminToken(hub: HubDb, given: string | undefined, now = new Date(), warn: (msg: string) => void = () => {}): Promise<string | null> {
  return hub.write(async (db) => {
    const [existing] = await db.select({ id: apiTokens.id }).from(apiTokens).limit(1);
    if (existing) {
      if (given !== undefined) {
        const [same] = await db.select({ id: apiTokens.id }).from(apiTokens).where(eq(apiTokens.tokenHash, sha256Hex(given))).limit(1);
        // Setting the variable again does not replace the token: say so rather than leave people guessing at 401s.
        if (!same) warn("the given admin token was ignored: an admin token already exists (it is only set on the first start)");
      }
      return null;
    }
    if (given !== undefined && given.length < 16) throw new Error("the admin token must be at least 16 characters");
    const token = given ?? newAdminToken();
    await db.insert(apiTokens).values({ id: ulid(), name: "admin", tokenHash: sha256Hex(token), role: "admin", createdAt: now });
    return token;
  });
}

/** Bearer API token check for the operator API. The lookup is by sha256, so timing reveals nothing useful. */
export function adminAuth(hub: HubDb): MiddlewareHandler {
  return async (c, next) => {
    const m = /^Bearer\s+(\S+)$/i.exec(c.req.header("authorization") ?? "");
    if (!m) throw new HttpError(401, "AUTH_MISSING", "an operator API token is required (Authorization: Bearer opa_...)");
    const [row] = await hub.db.select({ role: apiTokens.role }).from(apiTokens).where(eq(apiTokens.tokenHash, sha256Hex(m[1]!))).limit(1);
    if (!row || row.role !== "admin") throw new HttpError(401, "AUTH_INVALID", "API token not recognised");
    await next();
  };
}
