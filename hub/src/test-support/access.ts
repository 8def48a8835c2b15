import { OperatorClient, type Role } from "@outpost/shared";
import type { TestHub } from "./harness.ts";

/** A project-scoped operator user made through the API, and a client that acts as them in their project. */
export interface TestUser { name: string; token: string; op: OperatorClient }

export async function projectUser(t: TestHub, project: string, name: string, role: Role): Promise<TestUser> {
  const { token } = await t.op.inProject(project).createUser(name, role);
  return { name, token: token.token, op: new OperatorClient(t.hub.url, token.token, { project }) };
}

/** Creates the project (as the hub admin) unless it exists. */
export async function ensureProject(t: TestHub, name: string): Promise<void> {
  if (!(await t.op.listProjects()).some((p) => p.name === name)) await t.op.createProject(name);
}
