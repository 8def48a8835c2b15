import { eq } from "drizzle-orm";
import type { Context, Hono } from "hono";
import { CreateRolloutRequest, ROLLOUT_ACTIONS, RolloutActionRequest, RolloutEventsQuery, RolloutSitesQuery, type RolloutAction } from "@outpost/shared";
import { createRollout, listRolloutEvents, listRolloutSites, listRolloutViews, rolloutAction, rolloutView } from "../../rollouts/store.ts";
import { rollouts } from "../../db/schema.ts";
import type { HubDeps, HubEnv } from "../deps.ts";
import { HttpError } from "../errors.ts";
import { readJson, readParam, readQuery } from "../input.ts";
import { Ulid as RolloutId } from "./route-table.ts";

/**
 * /api/v1/rollouts (DESIGN §5): create, list, one rollout's progress (per wave, ETA, what it waits
 * for), its event history and its sites, and the operator actions. Actions change the rollout's
 * row at once; the engine acts on it at its next tick (rollback issues its bundles right away).
 */
export function registerRollouts(app: Hono<HubEnv>, deps: HubDeps): void {
  app.post("/rollouts", async (c) => {
    const req = await readJson(c, CreateRolloutRequest);
    const view = await createRollout(deps, req, c.get("project").id);
    deps.logger.info({ rollout: view.id, release: `${req.release.name}@${req.release.version}` }, "rollout created");
    return c.json(view, 201);
  });
  app.get("/rollouts", async (c) => c.json({ rollouts: await listRolloutViews(deps.hub.db, deps.now(), c.get("project").id) }));
  app.get("/rollouts/:id", async (c) => {
    const id = await rolloutIdIn(c, deps);
    const view = await rolloutView(deps.hub.db, id, deps.now());
    if (!view) throw new HttpError(404, "ROLLOUT_NOT_FOUND", `no rollout '${id}'`);
    return c.json(view);
  });
  app.get("/rollouts/:id/events", async (c) => {
    const id = await rolloutIdIn(c, deps);
    const q = readQuery(c, RolloutEventsQuery);
    return c.json({ events: await listRolloutEvents(deps.hub.db, id, q.after, q.limit) });
  });
  app.get("/rollouts/:id/sites", async (c) => {
    const id = await rolloutIdIn(c, deps);
    return c.json({ sites: await listRolloutSites(deps.hub.db, id, readQuery(c, RolloutSitesQuery)) });
  });
  for (const action of ROLLOUT_ACTIONS) {
    app.post(`/rollouts/:id/${action}`, async (c) => {
      const id = await rolloutIdIn(c, deps);
      await readJson(c, RolloutActionRequest);
      const view = await rolloutAction(deps, id, action as RolloutAction);
      deps.logger.info({ rollout: id, action, status: view.status }, "rollout action");
      return c.json(view);
    });
  }
}

/**
 * The :id of a rollout in the request's project. One in another project answers 404 exactly like
 * an unknown id, so a caller cannot learn what other projects run.
 */
async function rolloutIdIn(c: Context<HubEnv>, deps: HubDeps): Promise<string> {
  const id = readParam(c, "id", RolloutId);
  const [row] = await deps.hub.db.select({ projectId: rollouts.projectId }).from(rollouts).where(eq(rollouts.id, id)).limit(1);
  if (!row || row.projectId !== c.get("project").id) throw new HttpError(404, "ROLLOUT_NOT_FOUND", `no rollout '${id}'`);
  return id;
}
