import { and, asc, eq } from "drizzle-orm";
import type { Hono } from "hono";
import { ulid } from "ulid";
import { CreateUserRequest, GrantRequest, UserName, type UserView } from "@outpost/shared";
import { issueApiToken } from "../../auth/api-tokens.ts";
import type { Queryable } from "../../db/client.ts";
import { projectRoles, users, type UserRow } from "../../db/schema.ts";
import type { HubDeps, HubEnv } from "../deps.ts";
import { HttpError } from "../errors.ts";
import { readJson, readParam } from "../input.ts";

const DAY_MS = 86_400_000;

/**
 * Users and their role in the request's project (project admins). Users are hub-wide identities:
 * granting a role to an existing user's name is how one person works in several projects.
 * Hub admins are not made here: the first start's `admin` user is one (OIDC `*:admin` groups too).
 */
export function registerUsers(app: Hono<HubEnv>, deps: HubDeps): void {
  app.get("/users", async (c) => {
    const project = c.get("project");
    const rows = await deps.hub.db.select({ user: users, role: projectRoles.role }).from(projectRoles)
      .innerJoin(users, eq(projectRoles.userId, users.id)).where(eq(projectRoles.projectId, project.id)).orderBy(asc(users.name));
    return c.json({ users: rows.map((r) => view(r.user, r.role)) });
  });

  app.post("/users", async (c) => {
    const project = c.get("project");
    const req = await readJson(c, CreateUserRequest);
    const now = deps.now();
    const out = await deps.hub.transaction(async (tx) => {
      const [dup] = await tx.select({ id: users.id }).from(users).where(eq(users.name, req.name)).limit(1);
      if (dup) throw new HttpError(409, "USER_EXISTS", `user '${req.name}' already exists: give them a role here with \`outpost users grant\``, [{ path: "name", message: "already exists" }]);
      const user: UserRow = { id: ulid(), name: req.name, hubAdmin: false, createdAt: now };
      await tx.insert(users).values(user);
      await tx.insert(projectRoles).values({ userId: user.id, projectId: project.id, role: req.role });
      const token = await issueApiToken(tx, user.id, "first token", new Date(now.getTime() + req.tokenExpiresInDays * DAY_MS), now);
      return { user: view(user, req.role), token };
    });
    deps.logger.info({ user: req.name, project: project.name, role: req.role }, "user created");
    return c.json(out, 201);
  });

  app.put("/users/:user/role", async (c) => {
    const project = c.get("project");
    const name = readParam(c, "user", UserName);
    const { role } = await readJson(c, GrantRequest);
    const user = await deps.hub.transaction(async (tx) => {
      const user = await findUser(tx, name);
      await tx.insert(projectRoles).values({ userId: user.id, projectId: project.id, role })
        .onConflictDoUpdate({ target: [projectRoles.userId, projectRoles.projectId], set: { role } });
      return user;
    });
    return c.json(view(user, role));
  });

  app.delete("/users/:user/role", async (c) => {
    const project = c.get("project");
    const name = readParam(c, "user", UserName);
    const removed = await deps.hub.transaction(async (tx) => {
      const user = await findUser(tx, name);
      const [row] = await tx.delete(projectRoles).where(and(eq(projectRoles.userId, user.id), eq(projectRoles.projectId, project.id))).returning();
      // No role here looks the same as no such user: a project's admin learns nothing about other projects' users.
      if (!row) throw notFound(name);
      return row.role;
    });
    return c.json({ user: name, removed });
  });
}

const view = (u: UserRow, role: UserView["role"]): UserView => ({ name: u.name, role, hubAdmin: u.hubAdmin, createdAt: u.createdAt.toISOString() });
const notFound = (name: string) => new HttpError(404, "USER_NOT_FOUND", `no user named '${name}' has a role in this project`);

async function findUser(q: Queryable, name: string): Promise<UserRow> {
  const [row] = await q.select().from(users).where(eq(users.name, name)).limit(1);
  if (!row) throw new HttpError(404, "USER_NOT_FOUND", `no user named '${name}'`);
  return row;
}
