import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { LabelMap, MAX_LONG_POLL_S, SiteName } from "@outpost/shared";

/**
 * The agent's configuration: a YAML file (optional), then OUTPOST_* environment variables, then
 * explicit overrides, each layer winning over the one before. Everything is validated by one zod
 * schema and a bad value is reported with the field's name and where it came from.
 */

/**
 * `sim` simulates a whole site inside the state file (demos, fleet-scale tests); `real` talks to
 * the site's LXD, OVN Northbound, Ceph and apt, each enabled in `drivers`.
 */
export const DriverKind = z.enum(["sim", "real"]);
export const RealDriverName = z.enum(["lxd", "ovn", "ceph", "host"]);
/**
 * How bundles and reports travel (sync/mqtt/index.ts): `https` long-poll; `mqtt` the broker only;
 * `auto` MQTT, falling back to the HTTPS long-poll while the broker cannot be reached.
 */
export const TransportKind = z.enum(["https", "mqtt", "auto"]);
export const LogLevel = z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]);

const HubUrl = z.string().url().refine((u) => /^https?:\/\//.test(u), "must be an http:// or https:// URL");

export const AgentConfig = z.strictObject({
  hubUrl: HubUrl,
  site: SiteName,
  stateDir: z.string().min(1).default("/var/lib/outpost"),
  /** Needed only for the first start; once enrolled the agent authenticates with its own key. */
  enrollToken: z.string().min(1).optional(),
  labels: LabelMap.default({}),
  driver: DriverKind.default("sim"),
  transport: TransportKind.default("https"),
  longPollSeconds: z.number().int().min(0).max(MAX_LONG_POLL_S).default(30),
  /** Broker URL (mqtt://, ws://) overriding the one the hub advertises at GET /agent/v1/mqtt. */
  mqttUrl: z.string().regex(/^(mqtts?|wss?):\/\/./, "must be an mqtt://, mqtts://, ws:// or wss:// URL").optional(),
  /** transport auto: with MQTT up, still ask the hub over HTTPS this often (a broker that drops messages cannot freeze the site). */
  mqttSafetyPollSeconds: z.number().min(1).max(86_400).default(300),
  /** Overrides the bundle's spec.agent.healIntervalSeconds (tests use short ones; fractions allowed). */
  healIntervalSeconds: z.number().min(0.05).max(86_400).optional(),
  reportIntervalSeconds: z.number().min(0.05).max(86_400).default(30),
  outboxMax: z.number().int().min(10).max(10_000_000).default(10_000),
  logLevel: LogLevel.default("info"),
  /** Attempts per step within one reconcile run before the step is quarantined. */
  stepMaxAttempts: z.number().int().min(1).max(100).default(5),
  /** Backoff between attempts of one step (full jitter, doubling). */
  stepRetryBaseMs: z.number().int().min(0).max(60_000).default(500),
  /** First quarantine lasts about this long; each further quarantine of the same step doubles it. */
  quarantineBaseSeconds: z.number().min(0.05).max(86_400).default(30),
  quarantineCapSeconds: z.number().min(0.05).max(7 * 86_400).default(3600),
  /** Backoff for talking to the hub (long-poll, reports, enrollment): DESIGN says base 1 s, cap 60 s. */
  backoffBaseMs: z.number().int().min(1).max(600_000).default(1000),
  backoffCapMs: z.number().int().min(1).max(3_600_000).default(60_000),
  /** Longest wait for any hub answer (a long-poll: its wait plus this) before the call counts as failed. */
  hubTimeoutSeconds: z.number().min(0.5).max(600).default(30),
  /** With driver `real`: which of the site's systems this agent manages (a site without Ceph leaves it out). */
  drivers: z.array(RealDriverName).default(["lxd", "host"]),
  lxd: z.strictObject({
    /** The snap puts it at /var/snap/lxd/common/lxd/unix.socket. */
    socket: z.string().min(1).default("/var/lib/lxd/unix.socket"),
    /** Graceful stop before LXD is told to force it; 0 forces at once. */
    stopTimeoutSeconds: z.number().int().min(0).max(3600).default(30),
  }).default({ socket: "/var/lib/lxd/unix.socket", stopTimeoutSeconds: 30 }),
  ovn: z.strictObject({
    /** The Northbound database: unix:/path/ovnnb_db.sock or tcp:host:6641. */
    remote: z.string().regex(/^(unix:.+|tcp:.+:\d+)$/, "must be unix:<socket path> or tcp:<host>:<port>").optional(),
  }).default({}),
  ceph: z.strictObject({
    conf: z.string().min(1).optional(),
    keyring: z.string().min(1).optional(),
  }).default({}),
  /** Knobs of the simulation driver: a delay per applied step and names whose apply fails. */
  sim: z.strictObject({
    stepDelayMs: z.number().int().min(0).max(3_600_000).default(0),
    fail: z.array(z.string().min(1)).default([]),
  }).default({ stepDelayMs: 0, fail: [] }),
});
export type AgentConfig = z.output<typeof AgentConfig>;
export type AgentConfigInput = z.input<typeof AgentConfig>;

type Source = string;
type Layer = { values: Record<string, unknown>; sources: Record<string, Source> };

const num = (s: string) => (s.trim() === "" ? Number.NaN : Number(s));
const list = (s: string) => s.split(",").map((x) => x.trim()).filter(Boolean);

/** "k=v,k2=v2" -> {k: v, k2: v2}; a term without "=" is kept as a key with an invalid value so zod names it. */
function labels(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const term of list(s)) {
    const i = term.indexOf("=");
    if (i < 0) out[term] = "\u0000missing '='";
    else out[term.slice(0, i).trim()] = term.slice(i + 1).trim();
  }
  return out;
}

/** Every environment variable the agent reads, the field it sets and how the string is converted. */
export const ENV_VARS = {
  OUTPOST_HUB_URL: ["hubUrl", String],
  OUTPOST_SITE: ["site", String],
  OUTPOST_STATE_DIR: ["stateDir", String],
  OUTPOST_ENROLL_TOKEN: ["enrollToken", String],
  OUTPOST_LABELS: ["labels", labels],
  OUTPOST_DRIVER: ["driver", String],
  OUTPOST_TRANSPORT: ["transport", String],
  OUTPOST_LONG_POLL_SECONDS: ["longPollSeconds", num],
  OUTPOST_MQTT_URL: ["mqttUrl", String],
  OUTPOST_MQTT_SAFETY_POLL_SECONDS: ["mqttSafetyPollSeconds", num],
  OUTPOST_HEAL_INTERVAL_SECONDS: ["healIntervalSeconds", num],
  OUTPOST_REPORT_INTERVAL_SECONDS: ["reportIntervalSeconds", num],
  OUTPOST_OUTBOX_MAX: ["outboxMax", num],
  OUTPOST_LOG_LEVEL: ["logLevel", String],
  OUTPOST_STEP_MAX_ATTEMPTS: ["stepMaxAttempts", num],
  OUTPOST_STEP_RETRY_BASE_MS: ["stepRetryBaseMs", num],
  OUTPOST_QUARANTINE_BASE_SECONDS: ["quarantineBaseSeconds", num],
  OUTPOST_QUARANTINE_CAP_SECONDS: ["quarantineCapSeconds", num],
  OUTPOST_BACKOFF_BASE_MS: ["backoffBaseMs", num],
  OUTPOST_BACKOFF_CAP_MS: ["backoffCapMs", num],
  OUTPOST_HUB_TIMEOUT_SECONDS: ["hubTimeoutSeconds", num],
  OUTPOST_DRIVERS: ["drivers", list],
  OUTPOST_LXD_SOCKET: ["lxd.socket", String],
  OUTPOST_LXD_STOP_TIMEOUT_SECONDS: ["lxd.stopTimeoutSeconds", num],
  OUTPOST_OVN_REMOTE: ["ovn.remote", String],
  OUTPOST_CEPH_CONF: ["ceph.conf", String],
  OUTPOST_CEPH_KEYRING: ["ceph.keyring", String],
  OUTPOST_SIM_STEP_DELAY_MS: ["sim.stepDelayMs", num],
  OUTPOST_SIM_FAIL: ["sim.fail", list],
} as const satisfies Record<string, readonly [string, (s: string) => unknown]>;

export class ConfigError extends Error {
  constructor(message: string, readonly issues: { field: string; source: string; message: string }[] = []) {
    super(message);
    this.name = "ConfigError";
  }
}

function set(layer: Layer, path: string, value: unknown, source: Source) {
  const [head, sub] = path.split(".") as [string, string | undefined];
  if (sub === undefined) layer.values[head] = value;
  else layer.values[head] = { ...((layer.values[head] as object | undefined) ?? {}), [sub]: value };
  layer.sources[path] = source;
}

/** Sections whose fields merge one by one across layers (a file's lxd.socket survives an env OUTPOST_LXD_STOP_TIMEOUT_SECONDS). */
const NESTED = new Set(["sim", "lxd", "ovn", "ceph"]);

function fromObject(obj: Record<string, unknown>, source: Source): Layer {
  const layer: Layer = { values: {}, sources: {} };
  for (const [k, v] of Object.entries(obj)) {
    if (v === undefined) continue;
    if (v && typeof v === "object" && !Array.isArray(v) && NESTED.has(k)) {
      for (const [sk, sv] of Object.entries(v)) if (sv !== undefined) set(layer, `${k}.${sk}`, sv, source);
    } else set(layer, k, v, source);
  }
  return layer;
}

function fromEnv(env: Record<string, string | undefined>): Layer {
  const layer: Layer = { values: {}, sources: {} };
  for (const [name, [path, convert]] of Object.entries(ENV_VARS)) {
    const raw = env[name];
    if (raw === undefined || raw === "") continue;
    set(layer, path, (convert as (s: string) => unknown)(raw), name);
  }
  return layer;
}

function merge(layers: Layer[]): Layer {
  const out: Layer = { values: {}, sources: {} };
  for (const l of layers) {
    for (const [path, source] of Object.entries(l.sources)) {
      const [head, sub] = path.split(".") as [string, string | undefined];
      const v = sub === undefined ? l.values[head] : (l.values[head] as Record<string, unknown>)[sub];
      set(out, path, v, source);
    }
  }
  return out;
}

function readFile(file: string): Record<string, unknown> {
  let text: string;
  try { text = readFileSync(file, "utf8"); } catch (e) {
    throw new ConfigError(`cannot read agent config file ${file}: ${(e as Error).message}`);
  }
  let doc: unknown;
  try { doc = parseYaml(text); } catch (e) {
    throw new ConfigError(`agent config file ${file} is not valid YAML: ${(e as Error).message}`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== "object" || Array.isArray(doc)) throw new ConfigError(`agent config file ${file} must hold a YAML mapping`);
  return doc as Record<string, unknown>;
}

export interface LoadConfigOptions {
  /** A YAML file with the same field names as AgentConfig (camelCase). */
  file?: string;
  /** Usually process.env; passed in so tests and embedders choose. */
  env?: Record<string, string | undefined>;
  overrides?: Partial<AgentConfigInput>;
}

/** Builds the configuration from file < env < overrides, or throws a ConfigError naming each bad field. */
export function loadConfig(opts: LoadConfigOptions = {}): AgentConfig {
  const layers: Layer[] = [];
  if (opts.file) layers.push(fromObject(readFile(opts.file), opts.file));
  layers.push(fromEnv(opts.env ?? {}));
  if (opts.overrides) layers.push(fromObject(opts.overrides as Record<string, unknown>, "overrides"));
  const merged = merge(layers);
  const parsed = AgentConfig.safeParse(merged.values);
  if (parsed.success) {
    const c = parsed.data;
    if (c.driver === "real" && c.drivers.includes("ovn") && !c.ovn.remote) {
      throw new ConfigError("invalid agent config: drivers includes ovn but ovn.remote is not set", [
        { field: "ovn.remote", source: merged.sources["ovn.remote"] ?? "default (not set)", message: "required when drivers includes ovn (OUTPOST_OVN_REMOTE)" },
      ]);
    }
    if (c.driver === "real" && c.drivers.includes("ceph") && !c.ceph.conf) {
      throw new ConfigError("invalid agent config: drivers includes ceph but ceph.conf is not set", [
        { field: "ceph.conf", source: merged.sources["ceph.conf"] ?? "default (not set)", message: "required when drivers includes ceph (OUTPOST_CEPH_CONF)" },
      ]);
    }
    if (parsed.data.backoffCapMs < parsed.data.backoffBaseMs) {
      throw new ConfigError("invalid agent config: backoffCapMs must be >= backoffBaseMs", [
        { field: "backoffCapMs", source: merged.sources.backoffCapMs ?? "default", message: "must be >= backoffBaseMs" },
      ]);
    }
    return parsed.data;
  }
  const issues = parsed.error.issues.map((i) => {
    // An unknown key shows up as an issue on the parent with the key names in `keys`.
    const keys = (i as { keys?: string[] }).keys;
    const field = [...i.path.map(String), ...(keys && keys.length ? [keys.join(", ")] : [])].join(".") || "(root)";
    const source = merged.sources[field] ?? merged.sources[field.split(".")[0]!] ?? (field === "(root)" ? "config" : "default (not set)");
    return { field, source, message: i.message };
  });
  const lines = issues.map((i) => `  ${i.field} (from ${i.source}): ${i.message}`);
  throw new ConfigError(`invalid agent config:\n${lines.join("\n")}`, issues);
}
