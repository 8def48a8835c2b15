import type { Hono } from "hono";
import { admit, type HubFetch } from "../ui/api.ts";
import { inProcess } from "../ui/session.ts";
import type { HubMetrics } from "./index.ts";

/**
 * GET /metrics behind the operator API's own authentication: the scrape's bearer token (an API
 * token, e.g. Prometheus `authorization.credentials_file`) is checked by the API exactly as a CLI
 * call would be, and the fleet gauges cover only the projects it has a role in (every project for
 * a hub admin). The hub's port also faces the agents, so the fleet's shape is not left open.
 */
export function registerMetrics(app: Hono<any>, metrics: HubMetrics, fetch: HubFetch): void {
  app.get("/metrics", async (c) => {
    const m = /^Bearer\s+(\S+)$/i.exec(c.req.header("authorization") ?? "");
    if (!m) return c.json({ error: { code: "AUTH_MISSING", message: "an operator API token is required (Authorization: Bearer ...)" } }, 401);
    const admitted = await admit(inProcess(c, fetch), m[1]!);
    if (!("projects" in admitted)) return c.json({ error: { code: admitted.code, message: admitted.message } }, admitted.status as 401);
    const text = await metrics.exposition(new Set(admitted.projects.map((p) => p.name)));
    return c.body(text, 200, { "content-type": metrics.contentType, "cache-control": "no-store" });
  });
}
