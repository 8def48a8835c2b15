import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { AirgapClient } from "@outpost/shared";
import { operatorClient, type GlobalOptions } from "../context.ts";
import { print } from "../output.ts";

const g = (cmd: Command) => cmd.optsWithGlobals<GlobalOptions>();

/** Refusals carry a code (BUNDLE_ROLLBACK, MANIFEST_MISMATCH...): print it, as hub errors print theirs. */
function coded<A extends unknown[]>(fn: (...a: A) => Promise<void>): (...a: A) => Promise<void> {
  return async (...a) => {
    try { await fn(...a); } catch (e) {
      const code = (e as { code?: unknown }).code;
      if (typeof code === "string" && /^[A-Z_]+$/.test(code) && (e as Error).name !== "HubError") throw new Error(`${(e as Error).message} [${code}]`);
      throw e;
    }
  };
}

/** The operator's hub and token, as every operator command takes them. */
function airgapClient(opts: GlobalOptions): AirgapClient {
  const op = operatorClient(opts); // validates that a token was given, with the usual message
  const project = (opts as { project?: string }).project ?? process.env.OUTPOST_PROJECT;
  return new AirgapClient(op.baseUrl, opts.token ?? process.env.OUTPOST_TOKEN!, project ? { project } : {});
}

/**
 * Air-gapped sites (no network path to the hub): a signed bundle does not care how it travels.
 *   hub side:  outpost bundle export --site X --out DIR      outpost reports import FILE
 *   site side: outpost agent import DIR --state-dir D        outpost agent export-reports --out FILE
 */
export function airgapCommands(program: Command): void {
  const bundle = program.command("bundle").description("signed per-site bundles, for sites the hub cannot reach");
  bundle.command("export")
    .description("write a site's newest signed bundle, the trust documents and its artifacts to a directory (for a USB stick)")
    .requiredOption("--site <name>", "the site to export for")
    .requiredOption("--out <dir>", "directory to create (must not exist, or be empty)")
    .action(coded(async (o: { site: string; out: string }, cmd: Command) => {
      const { writeExport } = await import("@outpost/hub/airgap/export");
      const r = await writeExport({ client: airgapClient(g(cmd)), site: o.site, out: o.out });
      print(g(cmd), r, () => [
        `exported bundle v${r.bundleVersion} (${r.release.name}@${r.release.version}) for site ${r.site} to ${r.dir}`,
        `  ${r.artifacts.length} artifact(s), ${r.bytes} bytes in all`,
        `on the site: outpost agent import ${r.dir} --state-dir <the agent's state directory>`,
      ].join("\n"));
    }));

  const reports = program.command("reports").description("site reports carried by hand from air-gapped sites");
  reports.command("import <file>")
    .description("store a site's signed reports file (from `outpost agent export-reports`); importing it again stores nothing twice")
    .action(coded(async (file: string, _o, cmd: Command) => {
      const text = await readFile(file, "utf8").catch((e: NodeJS.ErrnoException) => { throw new Error(`cannot read ${file}: ${e.code ?? e.message}`); });
      let body: unknown;
      try { body = JSON.parse(text); } catch (e) { throw new Error(`${file} is not JSON (is it a reports file from \`outpost agent export-reports\`?): ${(e as Error).message}`); }
      const r = await airgapClient(g(cmd)).importReports(body as never);
      print(g(cmd), r, () => `site ${r.site}: ${r.total} report(s) in the file, ${r.stored} new, ${r.duplicates} already stored`);
    }));

  const agent = program.commands.find((c) => c.name() === "agent");
  if (!agent) throw new Error("airgapCommands must be registered after agentCommands");
  agent.command("import <dir>")
    .description("verify and apply an export from `outpost bundle export`, exactly as if the hub had sent it")
    .option("-c, --config <file>", "the agent's YAML config file (drivers); env OUTPOST_* and flags override it", process.env.OUTPOST_AGENT_CONFIG)
    .option("--state-dir <dir>", "the agent's state directory", process.env.OUTPOST_STATE_DIR ?? "/var/lib/outpost")
    .action(coded(async (dir: string, o: { config?: string; stateDir: string }, cmd: Command) => {
      const { importExport, siteConfig, stderrLogger } = await import("@outpost/agent/airgap/index");
      const config = await siteConfig({ stateDir: o.stateDir, file: o.config, env: process.env });
      const r = await importExport({ dir, config, log: stderrLogger(config.logLevel, config.site) });
      print(g(cmd), r, () => {
        const rc = r.reconcile;
        return [
          `${r.accepted ? "accepted" : "already had"} bundle v${r.bundleVersion} (${r.release.name}@${r.release.version}) for site ${r.site}`,
          `trust:     root v${r.trust.rootVersion}, keys v${r.trust.keysVersion ?? "-"}${r.trust.updated ? " (updated from the export)" : ""}`,
          `artifacts: ${r.artifacts.length ? r.artifacts.map((a) => `${a.name} ${a.copied ? "copied" : "already cached"}`).join(", ") : "none"}`,
          rc.ran
            ? `applied:   ${rc.done} of ${rc.steps} step(s); site ${rc.state}${rc.pending ? ` (${rc.pending} pending)` : ""}`
            : `applied:   not by this command: ${rc.reason}`,
        ].join("\n");
      });
    }));

  agent.command("export-reports")
    .description("write this site's queued reports to a file signed with the agent's key, for `outpost reports import` on the hub")
    .requiredOption("--out <file>", "the reports file to write")
    .option("--state-dir <dir>", "the agent's state directory", process.env.OUTPOST_STATE_DIR ?? "/var/lib/outpost")
    .action(coded(async (o: { out: string; stateDir: string }, cmd: Command) => {
      const { exportReports, siteConfig } = await import("@outpost/agent/airgap/index");
      const config = await siteConfig({ stateDir: o.stateDir, env: process.env });
      const r = await exportReports({ stateDir: o.stateDir, out: o.out, outboxMax: config.outboxMax });
      print(g(cmd), r, () => [
        `wrote ${r.count} report(s) of site ${r.site} to ${r.file} (sha256 ${r.sha256})`,
        `they stay queued here until the hub acknowledges them over the network; exporting again is harmless (the hub stores each report once)`,
      ].join("\n"));
    }));
}

