import { eq } from "drizzle-orm";
import type { MiddlewareHandler } from "hono";
import { AgentAuthError, claimedSite, importPublic, verifyAgentJwt } from "@outpost/shared";
import type { HubDeps, HubEnv } from "../api/deps.ts";
import { HttpError } from "../api/errors.ts";
import { sites } from "../db/schema.ts";
import { jtiStore } from "./jti-store.ts";
import { LastSeen } from "./last-seen.ts";

/**
 * Agent request authentication: the bearer JWT the agent signed with its own key. The signature
 * (and jti) is checked *before* the site's status is revealed, so only the key holder learns that
 * its site is pending or revoked.
 */
export function agentAuth(deps: HubDeps): MiddlewareHandler<HubEnv> {
  const lastSeen = new LastSeen(deps.hub);
  return async (c, next) => {
    const m = /^Bearer\s+(\S+)$/i.exec(c.req.header("authorization") ?? "");
    if (!m) throw new HttpError(401, "AUTH_MISSING", "a request token is required (Authorization: Bearer <jwt>)");
    const token = m[1]!;
    try {
      const name = claimedSite(token);
      const [site] = await deps.hub.db.select().from(sites).where(eq(sites.name, name)).limit(1);
      if (!site) throw new AgentAuthError("AUTH_UNKNOWN_SITE", `no site named '${name.slice(0, 64)}' has enrolled`);
      await verifyAgentJwt(token, site.name, await importPublic(site.publicKey), jtiStore(deps.hub, site.name), deps.now());
      // Seen even while pending: the operator can tell a live site from a typo before approving it.
      await lastSeen.touch(site.id, deps.now());
      if (site.status === "pending") throw new AgentAuthError("AUTH_SITE_PENDING", `site '${site.name}' is waiting for approval`);
      if (site.status === "revoked") throw new AgentAuthError("AUTH_SITE_REVOKED", `site '${site.name}' has been revoked`);
      c.set("site", site);
    } catch (e) {
      if (!(e instanceof AgentAuthError)) throw e;
      const status = e.code === "AUTH_SITE_PENDING" || e.code === "AUTH_SITE_REVOKED" ? 403 : 401;
      throw new HttpError(status, e.code, e.message);
    }
    await next();
  };
}
