import type { Hono, MiddlewareHandler } from "hono";
import { Sha256Hex } from "@outpost/shared";
import type { HubDeps, HubEnv } from "../deps.ts";
import { HttpError } from "../errors.ts";
import { readParam } from "../input.ts";

/** GET /agent/v1/artifacts/:sha256 — content-addressed downloads. No artifact store yet: always 404. */
export function registerArtifacts(app: Hono<HubEnv>, _deps: HubDeps, auth: MiddlewareHandler<HubEnv>): void {
  app.get("/artifacts/:sha256", auth, (c) => {
    const sha256 = readParam(c, "sha256", Sha256Hex);
    throw new HttpError(404, "ARTIFACT_NOT_FOUND", `no artifact with sha256 ${sha256} on this hub`);
  });
}
