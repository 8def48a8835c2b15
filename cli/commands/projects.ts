import type { Command } from "commander";
import { operatorClient, type GlobalOptions } from "../context.ts";
import { print, table } from "../output.ts";

const g = (cmd: Command) => cmd.optsWithGlobals<GlobalOptions>();

/** `outpost projects list|create` and `outpost whoami`. */
export function projectCommands(program: Command): void {
  const projects = program.command("projects").description("projects (tenants): every site, release and rollout belongs to one");
  projects.command("list").description("projects you have a role in").action(async (_o, cmd: Command) => {
    const list = await operatorClient(g(cmd)).listProjects();
    print(g(cmd), list, () => list.length === 0 ? "you have a role in no project" : table(["PROJECT", "YOUR ROLE", "CREATED"], list.map((p) => [p.name, p.role, p.createdAt])));
  });
  projects.command("create <name>").description("create a project (hub admins)").action(async (name: string, _o, cmd: Command) => {
    const p = await operatorClient(g(cmd)).createProject(name);
    print(g(cmd), p, () => `created project ${p.name}: use it with --project ${p.name} (or OUTPOST_PROJECT=${p.name})`);
  });

  program.command("whoami").description("who the hub takes you for, and your role per project").action(async (_o, cmd: Command) => {
    const me = await operatorClient(g(cmd)).whoami();
    print(g(cmd), me, () => `${me.actor} (${me.via})${me.hubAdmin ? ", hub admin: admin on every project" : ""}\n` +
      table(["PROJECT", "ROLE"], Object.entries(me.roles).map(([p, r]) => [p, r])));
  });
}
