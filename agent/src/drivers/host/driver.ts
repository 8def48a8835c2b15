/**
 * The host driver: Debian package versions and security upgrades, through dpkg-query, apt-cache
 * and apt-get. Decisions live in plan.ts (pure); this file observes and installs.
 *
 * - A pinned package is installed with `apt-get install -y --allow-downgrades
 *   -o Dpkg::Options::=--force-confold <pkg>=<version>` (DEBIAN_FRONTEND=noninteractive): a drifted
 *   package goes back to the pinned version whichever way it drifted, and locally edited config
 *   files are kept. Held packages (`apt-mark hold`) are not forced: apt's refusal is the step's error.
 *   If apt's lists do not know the version, `apt-get update` runs first, at most once per pass.
 * - Security upgrades: the upgrades `apt-get -s dist-upgrade` would make whose new version comes
 *   from a security archive (plan.ts, apt.ts) are installed as exactly those versions with
 *   `apt-get install --only-upgrade --no-remove`. Chosen over unattended-upgrade so that one
 *   definition of "pending security upgrade" decides both what is observed and what is applied
 *   (with unattended-upgrade's own origin rules the two could disagree and the step would repeat
 *   forever), and so it works on hosts without unattended-upgrades installed. --no-remove: an
 *   upgrade that would remove a package fails (apt's message) instead of removing it. Known limit:
 *   when a newer non-security version shadows the security one, the package is not "pending".
 * - New security upgrades only show once apt's lists are fresh: observe() runs `apt-get update`
 *   at most every `refreshListsEveryMs` (default 6 h; a failure is logged and waits for the next
 *   interval).
 * - Never interrupted: dpkg killed half-way leaves packages half-configured, so the abort signal
 *   is honoured before a step starts, not during one.
 */
import type { Logger } from "pino";
import type { Spec } from "@outpost/shared";
import type { Driver, Step } from "../types.ts";
import { parseDpkgQuery, parseMadison, parseSimulatedUpgrades, pendingSecurityUpgrades } from "./apt.ts";
import { HostCommandError, runTool } from "./exec.ts";
import { hostObjects, planHost, type HostObserved, type SecurityState } from "./plan.ts";

export interface HostDriverOptions {
  aptGet?: string;
  dpkgQuery?: string;
  aptCache?: string;
  log?: Pick<Logger, "debug" | "info" | "warn">;
  /**
   * Extra apt options for every apt-get and apt-cache call, e.g. `["-o", "Dir::Etc::sourcelist=/etc/apt/outpost.list",
   * "-o", "Dir::Etc::sourceparts=-"]` to let Outpost see only some sources.
   */
  aptOptions?: readonly string[];
  /** observe() refreshes apt's lists at most this often (default 6 h; 0: never). */
  refreshListsEveryMs?: number;
  /** apt-get install (default 30 min), apt-get update (default 10 min), queries (default 2 min). */
  installTimeoutMs?: number;
  updateTimeoutMs?: number;
  queryTimeoutMs?: number;
}

const DPKG_FORMAT = "${Package}\t${Version}\t${db:Status-Abbrev}\n";

export function createHostDriver(opts: HostDriverOptions = {}): Driver<HostObserved> {
  const bins = { aptGet: opts.aptGet ?? "apt-get", dpkgQuery: opts.dpkgQuery ?? "dpkg-query", aptCache: opts.aptCache ?? "apt-cache" };
  const aptOptions = [...(opts.aptOptions ?? [])];
  const t = { install: opts.installTimeoutMs ?? 30 * 60_000, update: opts.updateTimeoutMs ?? 10 * 60_000, query: opts.queryTimeoutMs ?? 2 * 60_000 };
  const refreshEvery = opts.refreshListsEveryMs ?? 6 * 3600_000;
  const log = opts.log;
  // Wait for another apt/dpkg (an operator, apt-daily) instead of failing at once on its lock.
  const lockWait = ["-o", "DPkg::Lock::Timeout=120"];
  let lastRefresh = 0;
  /** Set by an `apt-get update` of the current pass; observe() starts a new pass. */
  let updatedThisPass = false;

  const aptUpdate = async () => {
    await runTool(bins.aptGet, [...aptOptions, ...lockWait, "-q", "update"], { timeoutMs: t.update });
    updatedThisPass = true;
    lastRefresh = Date.now();
  };

  const installed = async () => parseDpkgQuery((await runTool(bins.dpkgQuery, ["-W", "-f", DPKG_FORMAT], { timeoutMs: t.query, okCodes: [1] })).stdout);

  async function security(): Promise<SecurityState> {
    try {
      const sim = await runTool(bins.aptGet, [...aptOptions, "-s", "-q", "dist-upgrade"], { timeoutMs: t.query });
      return { pending: pendingSecurityUpgrades(parseSimulatedUpgrades(sim.stdout)) };
    } catch (e) {
      if (!(e instanceof HostCommandError)) throw e;
      return { error: e.message.slice(0, 1000) };
    }
  }

  /** Makes sure apt can install `name=version`, refreshing the lists once per pass if it cannot yet. */
  async function ensureAvailable(name: string, version: string): Promise<void> {
    const offered = async () => parseMadison((await runTool(bins.aptCache, [...aptOptions, "madison", name], { timeoutMs: t.query })).stdout, name);
    let versions = await offered();
    if (versions.includes(version)) return;
    if (!updatedThisPass) {
      log?.info({ pkg: name, version }, "version not in apt's lists: running apt-get update");
      await aptUpdate();
      versions = await offered();
      if (versions.includes(version)) return;
    }
    throw new Error(`${name} ${version} is not offered by any configured apt source (offered: ${versions.join(", ") || "none"})`);
  }

  async function install(args: string[], expect: Map<string, string>): Promise<void> {
    await runTool(bins.aptGet, [...aptOptions, ...lockWait, "install", "-y", "-q", "-o", "Dpkg::Options::=--force-confold", ...args], { timeoutMs: t.install });
    // apt can succeed without doing what was asked (say, a hold it respected): check what dpkg has now.
    const now = await installed();
    const wrong = [...expect].filter(([n, v]) => now.get(n)?.version !== v || now.get(n)?.state !== "installed");
    if (wrong.length) {
      throw new Error(`apt-get finished but ${wrong.map(([n, v]) => `${n} is ${now.get(n) ? `${now.get(n)!.version} (${now.get(n)!.state})` : "not installed"}, not ${v}`).join("; ")}`);
    }
  }

  async function applySecurity(step: Step): Promise<void> {
    const before = step.before as { pending?: string[]; error?: string } | undefined;
    // The plan's list (pinned packages already taken out), or, without one, what apt says now.
    let pending = before?.pending;
    if (!pending) {
      const s = await security();
      if ("error" in s) throw new Error(`cannot work out pending security upgrades: ${s.error}`);
      pending = [...s.pending];
    }
    if (!pending.length) return;
    const expect = new Map(pending.map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]));
    await install(["--only-upgrade", "--no-remove", ...pending], expect);
    log?.info({ upgraded: pending }, "security upgrades installed");
  }

  return {
    name: "host",

    async observe(): Promise<HostObserved> {
      updatedThisPass = false;
      if (refreshEvery > 0 && Date.now() - lastRefresh >= refreshEvery) {
        try { await aptUpdate(); } catch (e) {
          lastRefresh = Date.now(); // not again before the next interval: an offline site must not pay for it every pass
          log?.warn({ err: (e as Error).message }, "apt-get update failed; security upgrades are judged on the lists apt already has");
        }
      }
      const [pkgs, sec] = await Promise.all([installed(), security()]);
      return { objects: hostObjects(pkgs.values(), sec) };
    },

    plan(desired: Spec, observed: HostObserved): Step[] {
      return planHost(desired, observed);
    },

    async apply(step: Step, signal?: AbortSignal): Promise<void> {
      signal?.throwIfAborted();
      if (step.kind === "host.package" && (step.action === "create" || step.action === "update")) {
        const version = String((step.after as { version: unknown }).version);
        await ensureAvailable(step.name, version);
        await install(["--allow-downgrades", `${step.name}=${version}`], new Map([[step.name, version]]));
        log?.info({ pkg: step.name, version, was: (step.before as { version?: string } | undefined)?.version ?? null }, "package pinned");
        return;
      }
      if (step.kind === "host.security-updates" && (step.action === "create" || step.action === "update")) return applySecurity(step);
      throw new Error(`the host driver does not ${step.action} ${step.kind} (packages are never removed)`);
    },

    metrics(observed: HostObserved): Record<string, number> {
      const packages = observed.objects.filter((o) => o.kind === "host.package").length;
      const sec = observed.objects.find((o) => o.kind === "host.security-updates")?.fields;
      const pending = Array.isArray(sec?.pending) ? sec.pending.length : 0;
      return { "host.package.count": packages, "host.security.pending": pending };
    },
  };
}
