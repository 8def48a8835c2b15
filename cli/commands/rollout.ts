import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { parse as parseYaml } from "yaml";
import { ROLLOUT_ACTIONS, type OperatorClient, type RolloutEventView, type RolloutView, type SiteProgressState, type StrategyInput } from "@outpost/shared";
import { operatorClient, type GlobalOptions } from "../context.ts";
import { print, table } from "../output.ts";
import { parseReleaseRef } from "./operator.ts";

const g = (cmd: Command) => cmd.optsWithGlobals<GlobalOptions>();
const repeat = (v: string, a: string[]) => [...a, v];

interface CreateOptions {
  selector: string; file?: string; waves?: string; threshold?: string; waveTimeout?: string; pause?: string;
  maxUnavailable?: string; groupBy?: string; window: string[]; timezoneLabel?: string; approval?: string; onFailure?: string;
}

/** "1,10%,50%,100%" -> [1, "10%", "50%", "100%"]; the hub validates the rest and names the field. */
export function parseWaves(s: string): (number | string)[] {
  return s.split(",").map((w) => w.trim()).filter(Boolean).map((w) => (/^\d+$/.test(w) ? Number(w) : w));
}

/** "cron|durationMinutes|timezone", e.g. "0 2 * * *|120|Europe/Lisbon" (timezone optional). */
export function parseWindow(s: string): { cron: string; durationMinutes: number; timezone?: string } {
  const [cron, duration, timezone] = s.split("|").map((p) => p.trim());
  if (!cron || !duration) throw new Error(`--window must be 'cron|minutes[|timezone]', e.g. '0 2 * * *|120|Europe/Lisbon', got '${s}'`);
  return { cron, durationMinutes: Number(duration), ...(timezone ? { timezone } : {}) };
}

function strategyFrom(o: CreateOptions, base: Record<string, unknown>): StrategyInput {
  const s: Record<string, unknown> = { ...base };
  const num = (v: string | undefined, k: string) => { if (v !== undefined) s[k] = Number(v); };
  if (o.waves) s.waves = parseWaves(o.waves);
  num(o.threshold, "successThreshold");
  num(o.waveTimeout, "waveTimeoutSeconds");
  num(o.pause, "pauseSeconds");
  num(o.maxUnavailable, "maxUnavailable");
  if (o.groupBy) s.groupBy = o.groupBy;
  if (o.window.length) s.windows = o.window.map(parseWindow);
  if (o.timezoneLabel) s.timezoneLabel = o.timezoneLabel;
  if (o.approval) s.approval = o.approval;
  if (o.onFailure) s.onFailure = o.onFailure;
  if (!s.waves) throw new Error("a rollout needs waves: --waves 1,10%,50%,100% (or a strategy file with -f)");
  return s as StrategyInput;
}

const pct = (n: number, d: number) => (d === 0 ? 0 : Math.floor((n * 100) / d));

/** One line: a bar of finished sites, the wave, what is in flight, and the ETA. */
export function progressLine(v: RolloutView, width = 30): string {
  const done = v.sites.succeeded + v.sites.failed + v.sites.timedOut;
  const filled = v.sites.total ? Math.round((done / v.sites.total) * width) : 0;
  const bar = "#".repeat(filled) + ".".repeat(width - filled);
  const wave = v.currentWave >= 0 ? `wave ${v.currentWave + 1}/${v.waves.length}` : `wave -/${v.waves.length}`;
  const eta = v.eta && v.status === "running" ? `  ETA ${v.eta.slice(11, 19)}` : "";
  return `[${bar}] ${done}/${v.sites.total} ${pct(done, v.sites.total)}%  ${v.status}  ${wave}  in flight ${v.sites.inProgress}  ok ${v.sites.succeeded}  failed ${v.sites.failed}  timed out ${v.sites.timedOut}${eta}`;
}

export function describeRollout(v: RolloutView): string {
  const head = [
    `rollout ${v.id}: ${v.release.name}@${v.release.version} to '${v.selector || "(every site)"}'  ${v.status}${v.pauseReason ? ` (${v.pauseReason})` : ""}`,
    progressLine(v),
  ];
  if (v.waitingFor) head.push(`waiting for: ${v.waitingFor}`);
  const waves = table(["WAVE", "TARGET", "SITES", "STATE", "PENDING", "IN FLIGHT", "OK", "FAILED", "TIMED OUT"],
    v.waves.map((w) => [w.index + 1, String(w.target), w.size, w.state, w.pending, w.inProgress, w.succeeded, w.failed, w.timedOut]));
  return [...head, "", waves].join("\n");
}

const eventLine = (e: RolloutEventView) =>
  `${e.at}  ${e.type.padEnd(20)} ${e.wave !== null ? `wave ${e.wave + 1}` : ""}${e.site ? `  ${e.site}` : ""}${e.group ? ` (${e.group})` : ""}  [${e.actor}]`;

const FINAL = new Set(["completed", "aborted", "rolled-back"]);

/** `status --watch`: redraws one progress line on a terminal (a line per change otherwise) and prints events as they happen. */
async function watch(client: OperatorClient, id: string, intervalMs: number, json: boolean): Promise<void> {
  const tty = process.stdout.isTTY && !json;
  let after = 0, lastLine = "";
  for (;;) {
    const [v, events] = await Promise.all([client.getRollout(id), client.rolloutEvents(id, { after, limit: 1000 })]);
    if (tty && lastLine) process.stdout.write("\r\x1b[2K");
    for (const e of events) process.stdout.write((json ? JSON.stringify(e) : eventLine(e)) + "\n");
    after = events.at(-1)?.id ?? after;
    const line = json ? JSON.stringify({ progress: { status: v.status, currentWave: v.currentWave, sites: v.sites, eta: v.eta } }) : progressLine(v);
    if (tty) process.stdout.write(line);
    else if (line !== lastLine) process.stdout.write(line + "\n");
    lastLine = line;
    if (FINAL.has(v.status)) { if (tty) process.stdout.write("\n"); return; }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export function rolloutCommands(program: Command): void {
  const ro = program.command("rollout").description("take a release to a fleet in waves (DESIGN §5)");

  ro.command("create <release>")
    .description("create a rollout of name@version (then `outpost rollout start <id>`)")
    .requiredOption("-s, --selector <selector>", "label selector ('' = every approved site)")
    .option("-f, --file <file>", "strategy as YAML/JSON (flags below override its fields)")
    .option("--waves <list>", "cumulative waves, the first is the canary and the last 100%: e.g. 1,10%,50%,100%")
    .option("--threshold <percent>", "per-wave success threshold (default 90)")
    .option("--wave-timeout <seconds>", "a started site that is silent this long times out (default 1800)")
    .option("--pause <seconds>", "pause between waves (default 0)")
    .option("--max-unavailable <n>", "most sites in flight per group")
    .option("--group-by <label>", "label whose value forms a budget group (e.g. region)")
    .option("--window <cron|minutes|tz>", "maintenance window, repeatable: '0 2 * * *|120|Europe/Lisbon'", repeat, [] as string[])
    .option("--timezone-label <label>", "site label holding its time zone, '/' written '.' (default timezone)")
    .option("--approval <mode>", "automatic | manual (approve each wave after the canary)")
    .option("--on-failure <action>", "pause | rollback")
    .action(async (ref: string, o: CreateOptions, cmd: Command) => {
      let base: Record<string, unknown> = {};
      if (o.file) {
        try { base = (parseYaml(await readFile(o.file, "utf8")) ?? {}) as Record<string, unknown>; } catch (e) { throw new Error(`${o.file}: ${(e as Error).message}`); }
      }
      const v = await operatorClient(g(cmd)).createRollout({ release: parseReleaseRef(ref), selector: o.selector, strategy: strategyFrom(o, base) });
      print(g(cmd), v, () => `created rollout ${v.id} (${v.release.name}@${v.release.version}); start it with:\n  outpost rollout start ${v.id}`);
    });

  ro.command("list").description("every rollout").action(async (_o, cmd: Command) => {
    const list = await operatorClient(g(cmd)).listRollouts();
    print(g(cmd), list, () => list.length === 0 ? "no rollouts yet: outpost rollout create <name@version> --selector ... --waves 1,10%,100%" : table(
      ["ID", "RELEASE", "STATUS", "WAVE", "SITES", "OK", "FAILED", "TIMED OUT", "CREATED"],
      list.map((v) => [v.id, `${v.release.name}@${v.release.version}`, v.status, v.currentWave >= 0 ? `${v.currentWave + 1}/${v.waves.length}` : "-", v.sites.total, v.sites.succeeded, v.sites.failed, v.sites.timedOut, v.createdAt])));
  });

  ro.command("status <id>")
    .description("progress per wave, ETA and what it waits for; --watch follows it live")
    .option("-w, --watch", "keep a live progress bar and print events until the rollout ends", false)
    .option("--interval <seconds>", "refresh every (with --watch)", "1")
    .action(async (id: string, o: { watch: boolean; interval: string }, cmd: Command) => {
      const client = operatorClient(g(cmd));
      if (o.watch) return watch(client, id, Math.max(0.2, Number(o.interval) || 1) * 1000, !!g(cmd).json);
      const v = await client.getRollout(id);
      print(g(cmd), v, () => describeRollout(v));
    });

  ro.command("events <id>").description("the rollout's history, oldest first")
    .option("--after <id>", "only events after this event id", "0").option("--limit <n>", "how many", "1000")
    .action(async (id: string, o: { after: string; limit: string }, cmd: Command) => {
      const list = await operatorClient(g(cmd)).rolloutEvents(id, { after: Number(o.after), limit: Number(o.limit) });
      print(g(cmd), list, () => list.map(eventLine).join("\n") || "no events");
    });

  ro.command("sites <id>").description("the rollout's sites: wave and progress state")
    .option("--state <state>", "pending | in-progress | succeeded | failed | timed-out").option("--wave <n>", "only this wave (1 = the canary)")
    .action(async (id: string, o: { state?: string; wave?: string }, cmd: Command) => {
      const list = await operatorClient(g(cmd)).rolloutSites(id, { state: o.state as SiteProgressState | undefined, wave: o.wave ? Number(o.wave) - 1 : undefined });
      print(g(cmd), list, () => list.length === 0 ? "no sites (is the rollout started?)" : table(
        ["SITE", "WAVE", "GROUP", "STATE", "BUNDLE", "ROLLBACK"],
        list.map((s) => [s.site, s.wave + 1, s.group, s.state, s.bundleVersion, s.rollbackVersion])));
    });

  const help: Record<string, string> = {
    start: "fix its sites and waves and begin (the canary first)",
    pause: "start no more sites until resumed (results still recorded)",
    resume: "carry on; after a failed wave this accepts its failures",
    approve: "let the next wave begin (manual approval)",
    abort: "stop for good; sites keep what they were sent",
    rollback: "send every site it touched a new, higher version of its previous release",
  };
  for (const action of ROLLOUT_ACTIONS) {
    ro.command(`${action} <id>`).description(help[action]!).action(async (id: string, _o, cmd: Command) => {
      const v = await operatorClient(g(cmd)).rolloutAction(id, action);
      print(g(cmd), v, () => describeRollout(v));
    });
  }
}
