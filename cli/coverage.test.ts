import { describe, expect, it } from "vitest";
import type { Command } from "commander";
import { ROLLOUT_ACTIONS } from "@outpost/shared";
import { OPERATOR_ROUTES, routeKey } from "../hub/src/api/operator/route-table.ts";
import { buildProgram } from "./program.ts";

/**
 * "The CLI covers every operator action", checked from the route table like the permission
 * matrix: every operator route names the `outpost` command that calls it, and that command
 * exists. A route added to the table without a command fails here.
 */
const COMMAND_FOR: Record<string, string> = {
  "GET /whoami": "whoami",
  "GET /projects": "projects list",
  "POST /projects": "projects create",
  "GET /users": "users list",
  "POST /users": "users create",
  "PUT /users/:user/role": "users grant",
  "DELETE /users/:user/role": "users revoke",
  "GET /api-tokens": "tokens list",
  "POST /api-tokens": "tokens create",
  "DELETE /api-tokens/:id": "tokens revoke",
  "GET /audit": "audit",
  "POST /tokens": "enroll-token create",
  "GET /tokens": "enroll-token list",
  "DELETE /tokens/:id": "enroll-token revoke",
  "GET /sites": "sites list",
  "GET /sites/:site": "sites show",
  "POST /sites/:site/approve": "sites approve",
  "POST /sites/:site/revoke": "sites revoke",
  "PATCH /sites/:site/labels": "sites label",
  "POST /releases": "release create",
  "GET /releases": "release list",
  "POST /assignments": "release assign",
  "GET /reports": "events",
  "POST /artifacts": "artifact upload",
  "GET /artifacts": "artifact list",
  "GET /sites/:site/bundle": "bundle export",
  "GET /artifacts/:sha256": "bundle export", // it carries the artifacts the bundle names along
  "POST /reports/import": "reports import",
  "POST /rollouts": "rollout create",
  "GET /rollouts": "rollout list",
  "GET /rollouts/:id": "rollout status",
  "GET /rollouts/:id/events": "rollout events",
  "GET /rollouts/:id/sites": "rollout sites",
  ...Object.fromEntries(ROLLOUT_ACTIONS.map((a) => [`POST /rollouts/:id/${a}`, `rollout ${a}`])),
};

function find(program: Command, path: string): Command | undefined {
  let cmd: Command | undefined = program;
  for (const word of path.split(" ")) cmd = cmd?.commands.find((c) => c.name() === word || c.aliases().includes(word));
  return cmd;
}

const program = await buildProgram();

describe("the CLI covers every operator route", () => {
  it.each(OPERATOR_ROUTES.map((r) => [routeKey(r.method, `/api/v1${r.path}`), r] as const))("%s", (_name, route) => {
    const path = COMMAND_FOR[routeKey(route.method, route.path)];
    expect(path, `no outpost command is named for ${route.method} /api/v1${route.path}: add one, and its line in cli/coverage.test.ts`).toBeDefined();
    expect(find(program, path!), `outpost ${path} does not exist`).toBeDefined();
  });

  it("names no command for a route that is not in the table", () => {
    const keys = new Set(OPERATOR_ROUTES.map((r) => routeKey(r.method, r.path)));
    expect(Object.keys(COMMAND_FOR).filter((k) => !keys.has(k))).toEqual([]);
  });
});
