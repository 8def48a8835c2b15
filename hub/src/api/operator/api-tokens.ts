import type { Hono } from "hono";
import { CreateApiTokenRequest } from "@outpost/shared";
import { issueApiToken, listUserTokens, revokeUserToken } from "../../auth/api-tokens.ts";
import type { Principal } from "../../auth/principal.ts";
import type { HubDeps, HubEnv } from "../deps.ts";
import { HttpError } from "../errors.ts";
import { readJson, readParam } from "../input.ts";
import { Ulid } from "./route-table.ts";

const DAY_MS = 86_400_000;

/** The caller's own API tokens: create (shown once), list, revoke. They carry the user's roles. */
export function registerApiTokens(app: Hono<HubEnv>, deps: HubDeps): void {
  app.get("/api-tokens", async (c) => c.json({ tokens: await listUserTokens(deps.hub.db, userOf(c.get("principal"))) }));

  app.post("/api-tokens", async (c) => {
    const userId = userOf(c.get("principal"));
    const req = await readJson(c, CreateApiTokenRequest);
    const now = deps.now();
    const created = await deps.hub.write((db) => issueApiToken(db, userId, req.name, new Date(now.getTime() + req.expiresInDays * DAY_MS), now));
    deps.logger.info({ tokenId: created.id, actor: c.get("principal").actor }, "API token created");
    return c.json(created, 201);
  });

  app.delete("/api-tokens/:id", async (c) => {
    const userId = userOf(c.get("principal"));
    const id = readParam(c, "id", Ulid);
    const revoked = await deps.hub.transaction((tx) => revokeUserToken(tx, userId, id, deps.now()));
    if (!revoked) throw new HttpError(404, "TOKEN_NOT_FOUND", `you have no API token '${id}'`);
    return c.json(revoked);
  });
}

/** OIDC callers have no user row to hang tokens on: their identity provider is where their access lives. */
function userOf(p: Principal): string {
  if (!p.userId) throw new HttpError(403, "NO_USER", "API tokens belong to hub users; an OIDC sign-in has none (ask an admin to create a user)");
  return p.userId;
}
