import type { Hono, MiddlewareHandler } from "hono";
import { ReportsRequest, type ReportsResponse } from "@outpost/shared";
import { ingestReports } from "../../reports/ingest.ts";
import type { HubDeps, HubEnv } from "../deps.ts";
import { readJson } from "../input.ts";

/**
 * POST /agent/v1/reports: at-least-once delivery from the agent's outbox becomes exactly-once
 * storage (see reports/ingest.ts, shared with the MQTT reports topic). The site comes from the
 * request token, never from the body.
 */
export function registerReports(app: Hono<HubEnv>, deps: HubDeps, auth: MiddlewareHandler<HubEnv>): void {
  app.post("/reports", auth, async (c) => {
    const { reports: items } = await readJson(c, ReportsRequest);
    return c.json((await ingestReports(deps, c.get("site"), items)) satisfies ReportsResponse);
  });
}
