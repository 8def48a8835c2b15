import { eq } from "drizzle-orm";
import type { Hono, MiddlewareHandler } from "hono";
import { DEFAULT_PROJECT_NAME, PROJECT_HEADER, ProjectName } from "@outpost/shared";
import { isMutating, recordAudit, sourceIp, targetOf } from "../../audit/log.ts";
import { authenticate } from "../../auth/authenticate.ts";
import { atLeast, roleIn, type Principal } from "../../auth/principal.ts";
import { projects } from "../../db/schema.ts";
import type { HubDeps, HubEnv, RequestProject } from "../deps.ts";
import { HttpError } from "../errors.ts";
import { describeNeed, routeKey, type OperatorRoute } from "./route-table.ts";

const API_PREFIX = "/api/v1";

/**
 * Registers, for each table route, the audit recorder and the guard in front of its handler.
 * Call before the handlers are registered (Hono runs matching handlers in registration order).
 */
export function guardRoutes(app: Hono<HubEnv>, deps: HubDeps, table: readonly OperatorRoute[]): void {
  for (const route of table) app.on(route.method, route.path, audit(deps, route), guard(deps, route));
}

/**
 * Every handler needs a table entry and every entry a handler: a route added without saying who
 * may call it stops the hub at start (and every test) instead of shipping unguarded.
 */
export function checkRouteTable(app: Hono<HubEnv>, table: readonly OperatorRoute[]): void {
  const declared = new Set(table.map((r) => routeKey(r.method, r.path)));
  const counts = new Map<string, number>();
  for (const r of app.routes) {
    if (r.method === "ALL") continue;
    const key = routeKey(r.method, r.path);
    if (!declared.has(key)) throw new Error(`operator route ${r.method} ${API_PREFIX}${r.path} has no entry in api/operator/route-table.ts: declare who may call it`);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  // Each entry registered 2 middlewares (audit, guard); a handler makes it 3.
  for (const key of declared) if ((counts.get(key) ?? 0) < 3) throw new Error(`route table entry ${key} has no handler`);
}

/** Writes the audit row for a mutating call once its answer is known (refusals included). */
function audit(deps: HubDeps, route: OperatorRoute): MiddlewareHandler<HubEnv> {
  if (!isMutating(route.method)) return (_c, next) => next();
  return async (c, next) => {
    const target = targetOf(c.req.param() as Record<string, string>);
    await next();
    const principal: Principal | undefined = c.get("principal");
    await recordAudit(deps, {
      at: deps.now(), actor: principal?.actor ?? "anonymous", projectId: c.get("project")?.id ?? null,
      method: route.method, route: API_PREFIX + route.path, target, sourceIp: sourceIp(c, deps.trustedProxies), status: c.res.status,
      requestId: c.get("requestId") ?? "",
    });
  };
}

function guard(deps: HubDeps, route: OperatorRoute): MiddlewareHandler<HubEnv> {
  return async (c, next) => {
    const principal = await authenticate(deps, c.req.header("authorization"));
    c.set("principal", principal);
    const need = route.need;
    if (need === "hub-admin") {
      if (!principal.hubAdmin) throw new HttpError(403, "FORBIDDEN", `${route.method} ${API_PREFIX}${route.path} needs a hub admin`);
    } else if (need !== "caller") {
      const project = await resolveProject(deps, principal, c.req.header(PROJECT_HEADER));
      c.set("project", project);
      const role = roleIn(principal, project.name);
      if (!atLeast(role, need.role)) {
        throw new HttpError(403, "FORBIDDEN", `${route.method} ${API_PREFIX}${route.path} needs ${describeNeed(need)} '${project.name}'; you are ${role}`);
      }
    }
    await next();
  };
}

/**
 * The project named by X-Outpost-Project (default `default`). A caller with no role there gets
 * the same 403 whether or not it exists, so project names are not confirmed to outsiders.
 */
async function resolveProject(deps: HubDeps, principal: Principal, header: string | undefined): Promise<RequestProject> {
  const name = header ?? DEFAULT_PROJECT_NAME;
  const parsed = ProjectName.safeParse(name);
  if (!parsed.success) {
    const message = parsed.error.issues[0]?.message ?? "invalid";
    throw new HttpError(400, "VALIDATION", `invalid ${PROJECT_HEADER} header: ${message}`, [{ path: PROJECT_HEADER, message }]);
  }
  if (roleIn(principal, name) === null) throw new HttpError(403, "NO_ROLE", `you have no role in project '${name}' (choose one with --project / ${PROJECT_HEADER})`);
  const [row] = await deps.hub.db.select({ id: projects.id, name: projects.name }).from(projects).where(eq(projects.name, name)).limit(1);
  if (!row) throw new HttpError(404, "PROJECT_NOT_FOUND", `no project named '${name}'`);
  return row;
}
