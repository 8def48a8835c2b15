import type { Hono } from "hono";
import { AuditQuery } from "@outpost/shared";
import { queryAudit } from "../../audit/log.ts";
import type { HubDeps, HubEnv } from "../deps.ts";
import { readQuery } from "../input.ts";

/** GET /audit?actor=&before=&limit=: the project's mutating calls, newest first (admins). */
export function registerAudit(app: Hono<HubEnv>, deps: HubDeps): void {
  app.get("/audit", async (c) => {
    const q = readQuery(c, AuditQuery);
    const entries = await queryAudit(deps.hub.db, { ...q, projectId: c.get("project").id, includeHubWide: c.get("principal").hubAdmin });
    return c.json({ entries });
  });
}
