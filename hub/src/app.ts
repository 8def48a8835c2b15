import { Hono } from "hono";
import { AgentRoutes } from "@outpost/shared";
import { MAX_REPORTS_FILE_BYTES, REPORTS_IMPORT_PATH } from "./airgap/index.ts";
import { agentApi } from "./api/agent/index.ts";
import type { HubDeps, HubEnv } from "./api/deps.ts";
import { errorBody, errorResponse, HttpError } from "./api/errors.ts";
import { drainUnreadBody, limitBody, requestLog } from "./api/middleware.ts";
import { ARTIFACT_UPLOAD_PATH } from "./api/operator/artifacts.ts";
import { operatorApi } from "./api/operator/index.ts";
import { registerOpenApi } from "./openapi/routes.ts";
import { HubMetrics } from "./metrics/index.ts";
import { registerMetrics } from "./metrics/route.ts";
import { dashboard } from "./ui/index.tsx";

export type { HubDeps } from "./api/deps.ts";

export const MAX_BODY_BYTES = 1024 * 1024;
/** Reports come in batches of up to 500 from an outbox that may have filled up while offline. */
export const MAX_REPORTS_BODY_BYTES = 4 * 1024 * 1024;

/** The hub's HTTP surface as a Hono app: serve it (main.ts) or call `app.request()` in a test. */
export function createHubApp(deps: HubDeps): Hono<HubEnv> {
  const app = new Hono<HubEnv>();
  app.use("*", requestLog(deps.logger));
  app.use("*", drainUnreadBody());
  // One registry per app; handlers that count things (report ingestion) reach it through deps.
  const metrics = (deps.metrics ??= new HubMetrics(deps));
  app.use("*", metrics.middleware());
  const small = limitBody(MAX_BODY_BYTES);
  const large = limitBody(MAX_REPORTS_BODY_BYTES);
  const reportsFile = limitBody(MAX_REPORTS_FILE_BYTES);
  app.use("*", (c, next) => {
    // Artifact uploads stream to disk under their own, much larger limit (ArtifactStore.maxBytes).
    if (c.req.path === ARTIFACT_UPLOAD_PATH) return next();
    // A whole outbox carried from an air-gapped site arrives in one request.
    if (c.req.path === REPORTS_IMPORT_PATH) return reportsFile(c, next);
    return (c.req.path === AgentRoutes.reports ? large : small)(c, next);
  });

  app.get("/healthz", (c) => c.json({ ok: true }));
  registerOpenApi(app);
  app.route("/agent/v1", agentApi(deps));
  app.route("/api/v1", operatorApi(deps));
  // The dashboard and /metrics call the operator API in-process (app.fetch): the same auth, roles and audit.
  app.route("/ui", dashboard(deps, app.fetch));
  registerMetrics(app, metrics, app.fetch);

  app.notFound((c) => c.json(errorBody("NOT_FOUND", `no route ${c.req.method} ${c.req.path}`), 404));
  app.onError((err, c) => {
    if (err instanceof HttpError) return errorResponse(c, err);
    const requestId = c.get("requestId") ?? "unknown";
    deps.logger.error({ reqId: requestId, err }, "unexpected error");
    return c.json(errorBody("INTERNAL", `internal error (request id ${requestId})`), 500);
  });
  return app;
}
