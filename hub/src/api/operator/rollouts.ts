import type { Hono } from "hono";
import { z } from "zod";
import { CreateRolloutRequest, ROLLOUT_ACTIONS, RolloutActionRequest, RolloutEventsQuery, RolloutSitesQuery, type RolloutAction } from "@outpost/shared";
import { createRollout, listRolloutEvents, listRolloutSites, listRolloutViews, rolloutAction, rolloutView } from "../../rollouts/store.ts";
import type { HubDeps, HubEnv } from "../deps.ts";
import { HttpError } from "../errors.ts";
import { readJson, readParam, readQuery } from "../input.ts";

const RolloutId = z.string().regex(/^[0-9A-HJKMNP-TV-Z]{26}$/, "must be a rollout id (a ULID, as `rollout create` printed it)");

/**
 * /api/v1/rollouts (DESIGN §5): create, list, one rollout's progress (per wave, ETA, what it waits
 * for), its event history and its sites, and the operator actions. Actions change the rollout's
 * row at once; the engine acts on it at its next tick (rollback issues its bundles right away).
 */
export function registerRollouts(app: Hono<HubEnv>, deps: HubDeps): void {
  app.post("/rollouts", async (c) => {
    const req = await readJson(c, CreateRolloutRequest);
    const view = await createRollout(deps, req);
    deps.logger.info({ rollout: view.id, release: `${req.release.name}@${req.release.version}` }, "rollout created");
    return c.json(view, 201);
  });
  app.get("/rollouts", async (c) => c.json({ rollouts: await listRolloutViews(deps.hub.db, deps.now()) }));
  app.get("/rollouts/:id", async (c) => {
    const id = readParam(c, "id", RolloutId);
    const view = await rolloutView(deps.hub.db, id, deps.now());
    if (!view) throw new HttpError(404, "ROLLOUT_NOT_FOUND", `no rollout '${id}'`);
    return c.json(view);
  });
  app.get("/rollouts/:id/events", async (c) => {
    const id = readParam(c, "id", RolloutId);
    const q = readQuery(c, RolloutEventsQuery);
    return c.json({ events: await listRolloutEvents(deps.hub.db, id, q.after, q.limit) });
  });
  app.get("/rollouts/:id/sites", async (c) => {
    const id = readParam(c, "id", RolloutId);
    return c.json({ sites: await listRolloutSites(deps.hub.db, id, readQuery(c, RolloutSitesQuery)) });
  });
  for (const action of ROLLOUT_ACTIONS) {
    app.post(`/rollouts/:id/${action}`, async (c) => {
      const id = readParam(c, "id", RolloutId);
      await readJson(c, RolloutActionRequest);
      const view = await rolloutAction(deps, id, action as RolloutAction);
      deps.logger.info({ rollout: id, action, status: view.status }, "rollout action");
      return c.json(view);
    });
  }
}
