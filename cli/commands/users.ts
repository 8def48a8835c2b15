import type { Command } from "commander";
import { Role } from "@outpost/shared";
import { operatorClient, type GlobalOptions } from "../context.ts";
import { print, table } from "../output.ts";

const g = (cmd: Command) => cmd.optsWithGlobals<GlobalOptions>();

function role(s: string): Role {
  const r = Role.safeParse(s);
  if (!r.success) throw new Error(`role must be viewer, operator or admin, got '${s}'`);
  return r.data;
}

/** `outpost users ...` (a project's users, admins) and `outpost tokens ...` (your own API tokens). */
export function userCommands(program: Command): void {
  const users = program.command("users").description("users and their role in the project (--project)");
  users.command("list").action(async (_o, cmd: Command) => {
    const list = await operatorClient(g(cmd)).listUsers();
    print(g(cmd), list, () => table(["USER", "ROLE", "HUB ADMIN", "CREATED"], list.map((u) => [u.name, u.role, u.hubAdmin ? "yes" : "", u.createdAt])));
  });
  users.command("create <name>")
    .description("create a user with a role in the project; prints their first API token, once")
    .requiredOption("--role <role>", "viewer, operator or admin")
    .option("--token-expires-in-days <n>", "lifetime of the first token", "90")
    .action(async (name: string, o: { role: string; tokenExpiresInDays: string }, cmd: Command) => {
      const r = await operatorClient(g(cmd)).createUser(name, role(o.role), { tokenExpiresInDays: Number(o.tokenExpiresInDays) });
      print(g(cmd), r, () => `created ${r.user.name} (${r.user.role}). Their API token, shown once (give it to them now):\n  ${r.token.token}\nexpires ${r.token.expiresAt}`);
    });
  users.command("grant <name> <role>").description("give an existing user a role in the project (replaces their role here)")
    .action(async (name: string, r: string, _o, cmd: Command) => {
      const u = await operatorClient(g(cmd)).grantRole(name, role(r));
      print(g(cmd), u, () => `${u.name} is now ${u.role}`);
    });
  users.command("revoke <name>").description("take a user's role in the project away").action(async (name: string, _o, cmd: Command) => {
    const r = await operatorClient(g(cmd)).revokeRole(name);
    print(g(cmd), r, () => `${r.user} no longer has a role here (was ${r.removed})`);
  });

  const tokens = program.command("tokens").description("your API tokens (for enrollment tokens see `outpost enroll-token`)");
  tokens.command("create <name>").description("a new API token, shown once")
    .option("--expires-in-days <n>", "lifetime", "90")
    .action(async (name: string, o: { expiresInDays: string }, cmd: Command) => {
      const tk = await operatorClient(g(cmd)).createApiToken(name, Number(o.expiresInDays));
      print(g(cmd), tk, () => `${tk.token}\n\n(shown once; only its hash is stored) id ${tk.id}, expires ${tk.expiresAt}`);
    });
  tokens.command("list").action(async (_o, cmd: Command) => {
    const list = await operatorClient(g(cmd)).listApiTokens();
    print(g(cmd), list, () => table(["ID", "NAME", "CREATED", "EXPIRES", "REVOKED"], list.map((x) => [x.id, x.name, x.createdAt, x.expiresAt ?? "never", x.revokedAt])));
  });
  tokens.command("revoke <id>").action(async (id: string, _o, cmd: Command) => {
    const tk = await operatorClient(g(cmd)).revokeApiToken(id);
    print(g(cmd), tk, () => `revoked ${tk.id} (${tk.name})`);
  });

  program.command("audit").description("the project's audit log, newest first (admins)")
    .option("--actor <actor>", "only this actor, e.g. user:alice, oidc:<sub>, site:<name>")
    .option("--limit <n>", "how many", "50")
    .action(async (o: { actor?: string; limit: string }, cmd: Command) => {
      const list = await operatorClient(g(cmd)).audit({ actor: o.actor, limit: Number(o.limit) });
      print(g(cmd), list, () => table(["AT", "ACTOR", "CALL", "TARGET", "STATUS", "FROM"], list.map((e) => [e.at, e.actor, `${e.method} ${e.route}`, e.target, e.status, e.sourceIp])));
    });
}
