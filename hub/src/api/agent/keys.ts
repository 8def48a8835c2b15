import type { Hono } from "hono";
import type { HubDeps, HubEnv } from "../deps.ts";

/** GET /agent/v1/keys: public, since everything in it is signed by the root the agent pinned. */
export function registerKeys(app: Hono<HubEnv>, deps: HubDeps): void {
  app.get("/keys", async (c) => {
    c.header("cache-control", "no-store");
    return c.json(await deps.keys.trustBundle());
  });
}
