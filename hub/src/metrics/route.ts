import type { Hono } from "hono";
import { operatorTokenAccepted, type HubFetch } from "../ui/api.ts";
import type { HubMetrics } from "./index.ts";

/**
 * GET /metrics behind the operator API's own authentication: the scrape's bearer token (an API
 * token, e.g. Prometheus `authorization.credentials_file`) is checked by the API exactly as a CLI
 * call would be. The hub's port also faces the agents, so the fleet's shape is not left open.
 */
export function registerMetrics(app: Hono<any>, metrics: HubMetrics, fetch: HubFetch): void {
  app.get("/metrics", async (c) => {
    const m = /^Bearer\s+(\S+)$/i.exec(c.req.header("authorization") ?? "");
    if (!m) return c.json({ error: { code: "AUTH_MISSING", message: "an operator API token is required (Authorization: Bearer ...)" } }, 401);
    const accepted = await operatorTokenAccepted(fetch, new URL(c.req.url).origin, m[1]!, c.env);
    if (accepted !== true) return c.json({ error: { code: accepted.code, message: accepted.message } }, accepted.status as 401);
    return c.body(await metrics.registry.metrics(), 200, { "content-type": metrics.registry.contentType, "cache-control": "no-store" });
  });
}
