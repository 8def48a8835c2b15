import { asc, eq } from "drizzle-orm";
import type { Hono } from "hono";
import { CreateProjectRequest, type ProjectView, type WhoAmI } from "@outpost/shared";
import { roleIn } from "../../auth/principal.ts";
import { projects } from "../../db/schema.ts";
import type { HubDeps, HubEnv } from "../deps.ts";
import { HttpError } from "../errors.ts";
import { readJson } from "../input.ts";

/** GET /whoami, GET /projects (the caller's), POST /projects (hub admins). A project's id is its name. */
export function registerProjects(app: Hono<HubEnv>, deps: HubDeps): void {
  app.get("/whoami", (c) => {
    const p = c.get("principal");
    return c.json({ actor: p.actor, hubAdmin: p.hubAdmin, via: p.via, roles: p.roles } satisfies WhoAmI);
  });

  app.get("/projects", async (c) => {
    const p = c.get("principal");
    const rows = await deps.hub.db.select().from(projects).orderBy(asc(projects.name));
    const out: ProjectView[] = rows.map((r) => ({ name: r.name, createdAt: r.createdAt.toISOString(), role: roleIn(p, r.name) }));
    return c.json({ projects: out.filter((v) => v.role !== null) });
  });

  app.post("/projects", async (c) => {
    const { name } = await readJson(c, CreateProjectRequest);
    const now = deps.now();
    await deps.hub.transaction(async (tx) => {
      const [dup] = await tx.select({ id: projects.id }).from(projects).where(eq(projects.name, name)).limit(1);
      if (dup) throw new HttpError(409, "PROJECT_EXISTS", `project '${name}' already exists`, [{ path: "name", message: "already exists" }]);
      await tx.insert(projects).values({ id: name, name, createdAt: now });
    });
    deps.logger.info({ project: name }, "project created");
    return c.json({ name, createdAt: now.toISOString(), role: "admin" } satisfies ProjectView, 201);
  });
}
