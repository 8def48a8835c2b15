import { Hono } from "hono";
import { auditEnrollment } from "../../audit/enrollment.ts";
import { agentAuth } from "../../auth/agent-auth.ts";
import type { HubDeps, HubEnv } from "../deps.ts";
import { registerArtifacts } from "./artifacts.ts";
import { registerBundle } from "./bundle.ts";
import { registerEnroll } from "./enroll.ts";
import { registerKeys } from "./keys.ts";
import { registerReports } from "./reports.ts";
import { registerMqttInfo } from "../../mqtt/route.ts";

/** The routes agents call (mounted at /agent/v1). Enroll and keys are open; the rest need the agent's JWT. */
export function agentApi(deps: HubDeps): Hono<HubEnv> {
  const app = new Hono<HubEnv>();
  const auth = agentAuth(deps);
  app.use("/enroll", auditEnrollment(deps));
  registerEnroll(app, deps);
  registerKeys(app, deps);
  registerBundle(app, deps, auth);
  registerReports(app, deps, auth);
  registerArtifacts(app, deps, auth);
  registerMqttInfo(app, deps, auth);
  return app;
}
