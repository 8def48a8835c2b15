import type { Hono } from "hono";
import type { HubEnv } from "../api/deps.ts";
import { buildOpenApi } from "./document.ts";
import { renderReference } from "./reference.ts";

export const OPENAPI_PATH = "/openapi.json";
export const REFERENCE_PATH = "/api/docs";

/** GET /openapi.json and GET /api/docs, public (they describe the API, not the fleet); built once. */
export function registerOpenApi(app: Hono<HubEnv>): void {
  const doc = buildOpenApi();
  const page = renderReference(doc);
  app.get(OPENAPI_PATH, (c) => c.json(doc));
  app.get(REFERENCE_PATH, (c) => c.html(page));
}
