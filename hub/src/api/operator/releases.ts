import { and, desc, eq } from "drizzle-orm";
import type { Hono } from "hono";
import { ulid } from "ulid";
import { CreateReleaseRequest } from "@outpost/shared";
import { releases, type ReleaseRow } from "../../db/schema.ts";
import type { HubDeps, HubEnv } from "../deps.ts";
import { HttpError } from "../errors.ts";
import { readJson } from "../input.ts";

const view = (r: ReleaseRow) => ({
  id: r.id, name: r.name, version: r.version, description: r.description, createdAt: r.createdAt.toISOString(),
  spec: r.spec, artifacts: r.artifacts,
});

/** Releases are immutable: a name@version, once made, always means the same spec. */
export function registerReleases(app: Hono<HubEnv>, deps: HubDeps): void {
  app.post("/releases", async (c) => {
    const req = await readJson(c, CreateReleaseRequest);
    const row: ReleaseRow = {
      id: ulid(), projectId: c.get("project").id, name: req.name, version: req.version, description: req.description,
      spec: req.spec, artifacts: req.artifacts, createdAt: deps.now(),
    };
    await deps.hub.transaction(async (tx) => {
      const [dup] = await tx.select({ id: releases.id }).from(releases)
        .where(and(eq(releases.projectId, row.projectId), eq(releases.name, row.name), eq(releases.version, row.version))).limit(1);
      if (dup) throw new HttpError(409, "RELEASE_EXISTS", `release ${row.name}@${row.version} already exists; releases are immutable, pick a new version`);
      await tx.insert(releases).values(row);
    });
    deps.logger.info({ release: `${row.name}@${row.version}` }, "release created");
    return c.json(view(row), 201);
  });

  app.get("/releases", async (c) => {
    const rows = await deps.hub.db.select().from(releases).where(eq(releases.projectId, c.get("project").id)).orderBy(desc(releases.createdAt), desc(releases.id));
    return c.json({ releases: rows.map(view) });
  });
}
