import { eq } from "drizzle-orm";
import type { Hono } from "hono";
import { LabelMap, LabelPatch, SiteName } from "@outpost/shared";
import { sites } from "../../db/schema.ts";
import type { HubDeps, HubEnv } from "../deps.ts";
import { HttpError, validationError } from "../errors.ts";
import { readJson, readParam } from "../input.ts";
import { EmptyBody } from "./route-table.ts";
import { findSite, listSiteViews, siteView } from "./site-view.ts";


export function registerSites(app: Hono<HubEnv>, deps: HubDeps): void {
  app.get("/sites", async (c) => c.json({ sites: await listSiteViews(deps.hub.db, c.get("project").id) }));

  app.get("/sites/:site", async (c) => c.json(await siteView(deps.hub.db, readParam(c, "site", SiteName), c.get("project").id)));

  app.post("/sites/:site/approve", async (c) => {
    const name = readParam(c, "site", SiteName);
    const projectId = c.get("project").id;
    await readJson(c, EmptyBody);
    const now = deps.now();
    const view = await deps.hub.transaction(async (tx) => {
      const site = await findSite(tx, name, projectId);
      if (site.status === "revoked") throw new HttpError(409, "SITE_REVOKED", `site '${name}' is revoked; it must enroll again with a new key`);
      if (site.status === "pending") await tx.update(sites).set({ status: "approved", approvedAt: now }).where(eq(sites.id, site.id));
      return siteView(tx, name, projectId);
    });
    deps.logger.info({ site: name }, "site approved");
    return c.json(view);
  });

  app.post("/sites/:site/revoke", async (c) => {
    const name = readParam(c, "site", SiteName);
    const projectId = c.get("project").id;
    await readJson(c, EmptyBody);
    // Every agent call and MQTT login checks the status, so this takes effect on the site's next
    // request; the brokers drop its connection within their 5 s sweep.
    const view = await deps.hub.transaction(async (tx) => {
      const site = await findSite(tx, name, projectId);
      if (site.status !== "revoked") await tx.update(sites).set({ status: "revoked" }).where(eq(sites.id, site.id));
      return siteView(tx, name, projectId);
    });
    deps.logger.info({ site: name }, "site revoked");
    return c.json(view);
  });

  app.patch("/sites/:site/labels", async (c) => {
    const name = readParam(c, "site", SiteName);
    const projectId = c.get("project").id;
    const patch = await readJson(c, LabelPatch);
    const clash = patch.remove.findIndex((k) => Object.hasOwn(patch.set, k));
    if (clash >= 0) {
      const message = `label '${patch.remove[clash]}' is both set and removed`;
      throw new HttpError(400, "VALIDATION", `invalid request body: remove.${clash}: ${message}`, [{ path: `remove.${clash}`, message }]);
    }
    const view = await deps.hub.transaction(async (tx) => {
      const site = await findSite(tx, name, projectId);
      const labels = { ...site.labels, ...patch.set };
      for (const k of patch.remove) delete labels[k];
      const checked = LabelMap.safeParse(labels);
      if (!checked.success) throw validationError(checked.error, "labels", ["labels"]);
      await tx.update(sites).set({ labels: checked.data }).where(eq(sites.id, site.id));
      return siteView(tx, name, projectId);
    });
    return c.json(view);
  });
}
