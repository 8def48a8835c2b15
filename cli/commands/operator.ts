import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { parse as parseYaml } from "yaml";
import type { SiteView } from "@outpost/shared";
import { operatorClient, type GlobalOptions } from "../context.ts";
import { ago, parseLabelArgs, print, table } from "../output.ts";

const g = (cmd: Command) => cmd.optsWithGlobals<GlobalOptions>();

/** `name@version`, the way people write a release. */
export function parseReleaseRef(s: string): { name: string; version: string } {
  const i = s.lastIndexOf("@");
  if (i <= 0 || i === s.length - 1) throw new Error(`release must be written name@version, got '${s}'`);
  return { name: s.slice(0, i), version: s.slice(i + 1) };
}

export function operatorCommands(program: Command): void {
  const token = program.command("token").alias("enroll-token").description("enrollment (bootstrap) tokens new sites join the project with");
  token.command("create")
    .description("create a token a new site enrolls with; it pins this hub's root key")
    .option("--label <k=v>", "label every site enrolling with it gets (repeatable)", (v: string, a: string[]) => [...a, v], [] as string[])
    .option("--auto-approve", "approve sites on enrollment", false)
    .option("--uses <n>", "how many sites may use it", "1")
    .option("--expires-in-hours <h>", "lifetime", "24")
    .action(async (o: { label: string[]; autoApprove: boolean; uses: string; expiresInHours: string }, cmd: Command) => {
      const t = await operatorClient(g(cmd)).createToken({
        labels: parseLabelArgs(o.label).set, autoApprove: o.autoApprove, uses: Number(o.uses), expiresInHours: Number(o.expiresInHours),
      });
      print(g(cmd), t, () => `${t.token}\n\nvalid for ${t.uses} site(s) until ${t.expiresAt}. On the site:\n  outpost agent start --hub <hub url> --site <name> --enroll-token ${t.token}`);
    });
  token.command("list").description("the project's enrollment tokens (never their secrets)").action(async (_o, cmd: Command) => {
    const list = await operatorClient(g(cmd)).listEnrollmentTokens();
    print(g(cmd), list, () => list.length === 0 ? "no enrollment tokens: outpost enroll-token create" : table(
      ["ID", "USABLE", "USES LEFT", "EXPIRES", "AUTO-APPROVE", "LABELS"],
      list.map((t) => [t.id, t.usable ? "yes" : "no", t.usesLeft, t.expiresAt, t.autoApprove ? "yes" : "no", Object.entries(t.labels).map(([k, v]) => `${k}=${v}`).join(",")]),
    ));
  });
  token.command("revoke <id>").description("no new site can enroll with this token (sites that enrolled stay)").action(async (id: string, _o, cmd: Command) => {
    const t = await operatorClient(g(cmd)).revokeEnrollmentToken(id);
    print(g(cmd), t, () => `revoked enrollment token ${t.id}`);
  });

  const sites = program.command("sites").description("the fleet's sites");
  sites.command("list").description("every site with its state and bundle").action(async (_o, cmd: Command) => {
    const list = await operatorClient(g(cmd)).listSites();
    print(g(cmd), list, () => list.length === 0 ? "no sites yet: create a token with `outpost token create`" : table(
      ["SITE", "STATUS", "STATE", "BUNDLE", "APPLIED", "RELEASE", "LAST SEEN", "LABELS"],
      list.map((s) => [s.name, s.status, s.stale ? `${s.state ?? "-"} (stale)` : s.state, s.bundleVersion, s.appliedVersion, s.release, ago(s.lastSeenAt),
        Object.entries(s.labels).map(([k, v]) => `${k}=${v}`).join(",")]),
    ));
  });
  sites.command("show <site>").description("one site: status, state, bundle, labels").action(async (name: string, _o, cmd: Command) => {
    const s = await operatorClient(g(cmd)).getSite(name);
    print(g(cmd), s, () => table(["FIELD", "VALUE"], [
      ["site", s.name], ["status", s.status], ["state", s.stale ? `${s.state ?? "-"} (stale)` : s.state], ["release", s.release],
      ["bundle issued", s.bundleVersion], ["bundle applied", s.appliedVersion], ["last seen", ago(s.lastSeenAt)],
      ["labels", Object.entries(s.labels).map(([k, v]) => `${k}=${v}`).join(",")],
    ]));
  });
  sites.command("revoke <site...>").description("stop trusting sites' keys (lost or compromised): their agents are refused from now on").action(async (names: string[], _o, cmd: Command) => {
    const client = operatorClient(g(cmd));
    const done: SiteView[] = [];
    for (const n of names) done.push(await client.revokeSite(n));
    print(g(cmd), done, () => done.map((s) => `revoked ${s.name}`).join("\n"));
  });
  sites.command("approve <site...>").description("let pending sites fetch bundles").action(async (names: string[], _o, cmd: Command) => {
    const client = operatorClient(g(cmd));
    const done: SiteView[] = [];
    for (const n of names) done.push(await client.approveSite(n));
    print(g(cmd), done, () => done.map((s) => `approved ${s.name}`).join("\n"));
  });
  sites.command("label <site> <labels...>").description("set labels (k=v) or remove them (k-)").action(async (site: string, labels: string[], _o, cmd: Command) => {
    const { set, remove } = parseLabelArgs(labels);
    const s = await operatorClient(g(cmd)).labelSite(site, set, remove);
    print(g(cmd), s, () => `${s.name}: ${Object.entries(s.labels).map(([k, v]) => `${k}=${v}`).join(", ") || "(no labels)"}`);
  });

  const release = program.command("release").description("named, versioned desired-state specs");
  release.command("create")
    .description("create a release from a YAML or JSON file: {name, version, description?, spec, artifacts?}")
    .requiredOption("-f, --file <file>", "release file")
    .action(async (o: { file: string }, cmd: Command) => {
      const text = await readFile(o.file, "utf8");
      let doc: unknown;
      try { doc = parseYaml(text); } catch (e) { throw new Error(`${o.file}: not valid YAML/JSON: ${(e as Error).message}`); }
      const r = await operatorClient(g(cmd)).createRelease(doc as never);
      print(g(cmd), r, () => `created release ${r.name}@${r.version}`);
    });
  release.command("list").action(async (_o, cmd: Command) => {
    const list = await operatorClient(g(cmd)).listReleases();
    print(g(cmd), list, () => table(["RELEASE", "CREATED", "DESCRIPTION"], list.map((r) => [`${r.name}@${r.version}`, r.createdAt, r.description])));
  });
  release.command("assign <release>")
    .description("give every approved site the selector matches a new signed bundle of this release (name@version)")
    .requiredOption("-s, --selector <selector>", "label selector, e.g. 'region=eu,tier!=canary' ('' = every site)")
    .option("--max-sites <n>", "refuse if more sites than this match")
    .action(async (ref: string, o: { selector: string; maxSites?: string }, cmd: Command) => {
      const r = await operatorClient(g(cmd)).assign(parseReleaseRef(ref), o.selector, o.maxSites ? Number(o.maxSites) : undefined);
      print(g(cmd), r, () => r.assigned.length === 0
        ? `no approved site matches '${o.selector}': nothing assigned`
        : `assigned ${r.release.name}@${r.release.version} to ${r.assigned.length} site(s):\n` + table(["SITE", "BUNDLE"], r.assigned.map((a) => [a.site, `v${a.version}`])));
    });

  program.command("events")
    .description("recent events reported by sites")
    .option("--site <site>").option("--type <type>", "e.g. applied, bundle-rejected, drift-healed").option("--limit <n>", "how many", "50")
    .action(async (o: { site?: string; type?: string; limit: string }, cmd: Command) => {
      const list = await operatorClient(g(cmd)).reports({ kind: "event", site: o.site, type: o.type, limit: Number(o.limit) });
      print(g(cmd), list, () => table(["AT", "SITE", "TYPE", "MESSAGE"], list.map((r) => [r.at, r.site, String(r.body.type), String(r.body.message)])));
    });
}
