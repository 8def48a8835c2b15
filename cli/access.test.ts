import { execFile } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestHub, type TestHub } from "../hub/src/test-support/harness.ts";

/** The real `outpost` CLI against a real hub: projects, users, API tokens, audit, completion. */
const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../bin/outpost.js");
let t: TestHub;
beforeAll(async () => { t = await startTestHub({ rolloutTickSeconds: 0 }); });
afterAll(async () => { await t?.stop(); });

function run(file: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { env: { ...process.env, OUTPOST_HUB_URL: t.hub.url, OUTPOST_TOKEN: t.hub.adminToken!, ...env } },
      (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }));
  });
}
const outpost = (args: string[], env?: Record<string, string>) => run(process.execPath, [CLI, ...args], env);

describe("outpost projects / users / tokens / audit", () => {
  it("a hub admin makes a project and its admin; that admin works in it with --project and the token printed once", async () => {
    expect((await outpost(["projects", "create", "eu"])).stdout).toContain("created project eu");
    const created = JSON.parse((await outpost(["--json", "--project", "eu", "users", "create", "erin", "--role", "admin"])).stdout) as { token: { token: string } };
    const erin = { OUTPOST_TOKEN: created.token.token, OUTPOST_PROJECT: "eu" };
    expect(JSON.parse((await outpost(["--json", "whoami"], erin)).stdout)).toMatchObject({ actor: "user:erin", roles: { eu: "admin" } });
    expect((await outpost(["users", "create", "otto", "--role", "operator"], erin)).code).toBe(0);
    expect((await outpost(["users", "list"], erin)).stdout).toMatch(/otto\s+operator/);
    // Erin is nobody in the default project: a clear refusal naming the project, non-zero exit.
    const refused = await outpost(["sites", "list", "--project", "default"], erin);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/no role in project 'default'.*\[NO_ROLE, HTTP 403\]/);
    const audit = JSON.parse((await outpost(["--json", "audit", "--actor", "user:erin"], erin)).stdout) as { route: string; status: number }[];
    expect(audit.map((e) => [e.route, e.status])).toContainEqual(["/api/v1/users", 201]);
  });

  it("tokens create|list|revoke manage your own API tokens; a revoked one is refused", async () => {
    const tk = JSON.parse((await outpost(["--json", "tokens", "create", "ci", "--expires-in-days", "3"])).stdout) as { id: string; token: string };
    expect((await outpost(["tokens", "list"])).stdout).toContain(tk.id);
    expect((await outpost(["tokens", "revoke", tk.id])).stdout).toContain(`revoked ${tk.id}`);
    const after = await outpost(["sites", "list"], { OUTPOST_TOKEN: tk.token });
    expect(after.stderr).toMatch(/revoked.*AUTH_REVOKED, HTTP 401/);
    expect((await outpost(["users", "grant", "x", "root"])).stderr).toMatch(/role must be viewer, operator or admin/);
  });

  it("enroll-token is the enrollment token command under its clearer name", async () => {
    const r = JSON.parse((await outpost(["--json", "enroll-token", "create"])).stdout) as { token: string };
    expect(r.token).toMatch(/^opt1\./);
  });

  it("enroll-token revoke|list and sites show", async () => {
    const showing = outpost(["sites", "show", "no-such-site"]);
    const tok = JSON.parse((await outpost(["--json", "enroll-token", "create", "--uses", "3"])).stdout) as { id: string };
    expect((await outpost(["enroll-token", "revoke", tok.id])).stdout).toContain(`revoked enrollment token ${tok.id}`);
    expect((await outpost(["enroll-token", "list"])).stdout).toMatch(new RegExp(`${tok.id}\\s+no\\s+0`));
    const missing = await showing;
    expect([missing.code, missing.stderr]).toEqual([1, expect.stringMatching(/no site.*no-such-site.*HTTP 404/)]);
  });

  it("completion bash completes commands, subcommands and options in a real bash", async () => {
    const script = (await outpost(["completion", "bash"])).stdout;
    const complete = async (line: string) => {
      const words = line.split(" ");
      const prog = `${script}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${words.length - 1}; _outpost; printf '%s\\n' "\${COMPREPLY[@]}"`;
      return (await run("bash", ["-c", prog])).stdout.trim().split("\n");
    };
    expect(await complete("outpost us")).toEqual(["users"]);
    expect((await complete("outpost users ")).sort()).toEqual(expect.arrayContaining(["create", "grant", "list", "revoke"]));
    expect(await complete("outpost --json rollout cr")).toEqual(["create"]);
    expect(await complete("outpost users create --ro")).toEqual(["--role"]);
    expect((await outpost(["completion", "zsh"])).stdout).toMatch(/^autoload -U \+X bashcompinit/);
    expect((await outpost(["completion", "fish"])).stderr).toMatch(/bash or zsh/);
  });
});
