import { eq } from "drizzle-orm";
import type { MiddlewareHandler } from "hono";
import { SiteName } from "@outpost/shared";
import type { HubDeps, HubEnv } from "../api/deps.ts";
import { sites } from "../db/schema.ts";
import { recordAudit, sourceIp } from "./log.ts";

/**
 * Audits POST /agent/v1/enroll, the one mutating call agents make that an operator did not: the
 * actor is `site:<name>` (the name it asked for), the project the site landed in (none when
 * refused). Reads the body only for the name; Hono caches it, so the handler reads it again.
 */
export function auditEnrollment(deps: HubDeps, route = "/agent/v1/enroll"): MiddlewareHandler<HubEnv> {
  return async (c, next) => {
    let name = "unknown";
    try {
      const claimed = (JSON.parse(await c.req.text()) as { site?: unknown }).site;
      if (SiteName.safeParse(claimed).success) name = claimed as string;
    } catch { /* the handler answers the bad body; the entry says "site:unknown" */ }
    await next();
    const [row] = c.res.status < 300 && name !== "unknown"
      ? await deps.hub.db.select({ projectId: sites.projectId }).from(sites).where(eq(sites.name, name)).limit(1)
      : [];
    await recordAudit(deps, {
      at: deps.now(), actor: `site:${name}`, projectId: row?.projectId ?? null, method: "POST", route,
      target: name === "unknown" ? "" : `site=${name}`, sourceIp: sourceIp(c, deps.trustedProxies), status: c.res.status, requestId: c.get("requestId") ?? "",
    });
  };
}
