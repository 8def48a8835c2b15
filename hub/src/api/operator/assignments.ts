import type { Hono } from "hono";
import { AssignRequest } from "@outpost/shared";
import { assignRelease } from "../../bundles/issue.ts";
import type { HubDeps, HubEnv } from "../deps.ts";
import { readJson } from "../input.ts";

/** POST /api/v1/assignments: a release to every approved site the selector matches, one signed bundle each. */
export function registerAssignments(app: Hono<HubEnv>, deps: HubDeps): void {
  app.post("/assignments", async (c) => {
    const req = await readJson(c, AssignRequest);
    const result = await assignRelease(deps, { ...req, projectId: c.get("project").id });
    deps.logger.info({ release: `${req.release.name}@${req.release.version}`, selector: req.selector, sites: result.assigned.length }, "release assigned");
    return c.json(result, 201);
  });
}
