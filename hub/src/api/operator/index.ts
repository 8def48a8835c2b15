import { Hono } from "hono";
import { registerAirgap } from "../../airgap/index.ts";
import { adminAuth } from "../../auth/admin-token.ts";
import type { HubDeps, HubEnv } from "../deps.ts";
import { registerArtifacts } from "./artifacts.ts";
import { registerAssignments } from "./assignments.ts";
import { registerReleases } from "./releases.ts";
import { registerReports } from "./reports.ts";
import { registerRollouts } from "./rollouts.ts";
import { registerSites } from "./sites.ts";
import { registerTokens } from "./tokens.ts";

/** The routes people and the CLI call (mounted at /api/v1), all behind an admin API token. */
export function operatorApi(deps: HubDeps): Hono<HubEnv> {
  const app = new Hono<HubEnv>();
  app.use("*", adminAuth(deps.hub));
  registerTokens(app, deps);
  registerSites(app, deps);
  registerReleases(app, deps);
  registerAssignments(app, deps);
  registerReports(app, deps);
  registerRollouts(app, deps);
  registerArtifacts(app, deps);
  registerAirgap(app, deps);
  return app;
}
