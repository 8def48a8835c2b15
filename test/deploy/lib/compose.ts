// deploy/compose.yaml read into what each service would get (pure apart from reading the file): its
// environment after ${VAR:-default} interpolation, its secrets' files and its volumes; plus the rewrite that
// maps compose's service hosts, /run/secrets and volumes onto this machine's loopback ports and temp dirs.
import { readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { parse } from "yaml";
import { REPO } from "../../lib/processes.ts";

export const COMPOSE_FILE = join(REPO, "deploy/compose.yaml");

export interface Service {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string[];
  environment?: Record<string, string>;
  secrets?: string[];
  volumes?: string[];
  ports?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
}
export interface Compose {
  name?: string;
  services: Record<string, Service>;
  secrets: Record<string, { file: string }>;
  volumes: Record<string, unknown>;
}

export function readCompose(text = readFileSync(COMPOSE_FILE, "utf8")): Compose {
  return parse(text, { merge: true }) as Compose;
}

/** Compose's `${NAME:-default}` / `${NAME}`; any other `$` form is refused so the test never guesses. */
export function interpolate(value: string, env: Record<string, string | undefined>): string {
  return value.replace(/\$\{([A-Z0-9_]+)(?::-([^}]*))?\}|\$(.)/g, (whole, name: string | undefined, def: string | undefined, other: string | undefined) => {
    if (other !== undefined) throw new Error(`unsupported interpolation in '${value}': ${whole}`);
    return env[name!] || def || "";
  });
}

/** Prefix and host rewrites, applied to every environment value (longest prefix first). */
export interface Rewrites { paths: Record<string, string>; hosts: Record<string, string> }

export function rewrite(value: string, r: Rewrites): string {
  let out = value;
  for (const [from, to] of Object.entries(r.hosts)) out = out.replaceAll(`//${from}`, `//${to}`);
  const prefixes = Object.keys(r.paths).sort((a, b) => b.length - a.length);
  const p = prefixes.find((x) => out === x || out.startsWith(`${x}/`));
  return p ? r.paths[p] + out.slice(p.length) : out;
}

/** Where each of a service's secrets is mounted (/run/secrets/<name>) and which file of DIR it is. */
export function secretMounts(c: Compose, service: string, secretsDir: string): Record<string, string> {
  return Object.fromEntries((c.services[service]!.secrets ?? []).map((name) => {
    const def = c.secrets[name];
    if (!def) throw new Error(`service ${service} uses secret ${name}, which compose.yaml does not define`);
    return [`/run/secrets/${name}`, join(secretsDir, basename(def.file))];
  }));
}

/** `name:/path[:ro]` volume mounts of a service: container path -> named volume or ./host path. */
export function volumeMounts(c: Compose, service: string): Record<string, string> {
  return Object.fromEntries((c.services[service]!.volumes ?? []).map((v) => {
    const [source, target] = v.split(":") as [string, string];
    return [target, source];
  }));
}

/** The service's environment as compose hands it over, interpolated and rewritten. */
export function serviceEnv(c: Compose, service: string, hostEnv: Record<string, string | undefined>, r: Rewrites): Record<string, string> {
  return Object.fromEntries(Object.entries(c.services[service]!.environment ?? {})
    .map(([k, v]) => [k, rewrite(interpolate(String(v), hostEnv), r)]));
}
