import { Hono } from "hono";
import { registerAirgap } from "../../airgap/index.ts";
import type { HubDeps, HubEnv } from "../deps.ts";
import { registerApiTokens } from "./api-tokens.ts";
import { registerArtifacts } from "./artifacts.ts";
import { registerAssignments } from "./assignments.ts";
import { registerAudit } from "./audit.ts";
import { checkRouteTable, guardRoutes } from "./guard.ts";
import { registerProjects } from "./projects.ts";
import { registerReleases } from "./releases.ts";
import { registerReports } from "./reports.ts";
import { registerRollouts } from "./rollouts.ts";
import { OPERATOR_ROUTES } from "./route-table.ts";
import { registerSites } from "./sites.ts";
import { registerTokens } from "./tokens.ts";
import { registerUsers } from "./users.ts";

/**
 * The routes people, the CLI and the dashboard call (mounted at /api/v1). Who may call each is
 * declared in route-table.ts; the guard authenticates (API token or OIDC), resolves the project
 * (X-Outpost-Project) and checks the role before any handler runs.
 */
export function operatorApi(deps: HubDeps): Hono<HubEnv> {
  const app = new Hono<HubEnv>();
  guardRoutes(app, deps, OPERATOR_ROUTES);
  registerProjects(app, deps);
  registerUsers(app, deps);
  registerApiTokens(app, deps);
  registerAudit(app, deps);
  registerTokens(app, deps);
  registerSites(app, deps);
  registerReleases(app, deps);
  registerAssignments(app, deps);
  registerReports(app, deps);
  registerRollouts(app, deps);
  registerArtifacts(app, deps);
  registerAirgap(app, deps);
  checkRouteTable(app, OPERATOR_ROUTES);
  return app;
}
