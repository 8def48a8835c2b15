/**
 * What LXD reports, normalised into the fields the bundle's desired objects carry (see
 * objects/desired.ts), so that an unchanged site plans zero steps. Pure: no I/O.
 *
 * Ownership. Outpost marks everything it creates with the config key `user.outpost.owned: "true"`
 * (LXD accepts `user.*` keys on storage pools, networks, profiles and instances alike, so no side
 * table is needed, and the mark survives an agent reinstall). Only marked objects are "outpost";
 * the rest is never updated or deleted. Two exceptions are adoptable (owner `lxd-init`): the
 * `default` profile and the `default` storage pool that `lxd init` makes. Other instances use
 * them, so the spec may configure them (plan.ts adopts them while the spec lists them) but they are
 * never marked and never deleted. Unmanaged networks (host interfaces) are `host`.
 *
 * Stripped before comparing: the ownership mark (any `user.outpost.*` key), LXD's `volatile.*`
 * keys on every kind, and on instances the `image.*` keys LXD copies from the image at creation.
 * The spec cannot set these (plan.ts drops them from desired objects too), and apply keeps LXD's
 * values when it writes an object back (LXD refuses a PUT that drops volatile idmap keys).
 */
import type { SiteObject, ObservedObjects } from "../objects/desired.ts";

export const OWNED_KEY = "user.outpost.owned";
export const OUTPOST = "outpost";
/** LXD's own `default` profile and pool: configurable by the spec, never deleted. */
export const LXD_INIT = "lxd-init";
export const HOST = "host";
export const FOREIGN = "foreign";

export type StringMap = Record<string, string>;
export type Devices = Record<string, StringMap>;

// What LXD's API returns (only the members we read).
export interface RawPool { name: string; driver: string; description?: string; config: StringMap | null }
export interface RawNetwork { name: string; type: string; managed: boolean; description?: string; config: StringMap | null }
export interface RawProfile { name: string; description: string; config: StringMap | null; devices: Devices | null }
export interface RawInstanceState { cpu?: { usage?: number }; memory?: { usage?: number } }
export interface RawInstance {
  name: string;
  type: string;
  status: string;
  architecture?: string;
  description?: string;
  ephemeral?: boolean;
  stateful?: boolean;
  config: StringMap | null;
  devices: Devices | null;
  profiles: string[] | null;
  /** Present with `?recursion=2` (running instances have usage numbers). */
  state?: RawInstanceState | null;
}
export interface RawImage { fingerprint: string; aliases: { name: string }[] | null }

export interface LxdRaw {
  pools: RawPool[];
  networks: RawNetwork[];
  profiles: RawProfile[];
  instances: RawInstance[];
  images: RawImage[];
}

export interface ImageInfo { fingerprint: string; aliases: string[] }
export interface ArtifactRef { name: string; sha256: string }
export interface Usage { cpuSeconds: number; memoryBytes: number }

/** What observe() hands the pure plan: normalised objects plus what image references resolve against. */
export interface LxdObserved extends ObservedObjects {
  /** Images present in LXD (for `{alias}` and `{fingerprint}` references). */
  images: ImageInfo[];
  /** The current bundle's artifacts at observe time (for `{artifact}` references). */
  artifacts: ArtifactRef[];
  /** CPU and memory of running instances, by name (telemetry only). */
  usage: Record<string, Usage>;
}

/** Keys nobody but LXD and Outpost writes: never compared, never taken from the spec. */
export function isReservedKey(kind: string, key: string): boolean {
  return key.startsWith("volatile.") || key.startsWith("user.outpost.") || (kind === "lxd.instance" && key.startsWith("image."));
}

export function withoutReserved(kind: string, config: StringMap | null | undefined): StringMap {
  const out: StringMap = {};
  for (const [k, v] of Object.entries(config ?? {})) if (!isReservedKey(kind, k)) out[k] = v;
  return out;
}

const isOwned = (config: StringMap | null | undefined) => config?.[OWNED_KEY] === "true";

/** "Running" -> "running", "Stopped" -> "stopped"; anything else (Frozen, Error) lower-cased, so it differs from both. */
export function instanceState(status: string): string {
  return status.toLowerCase();
}

export function normalizePool(p: RawPool): SiteObject {
  return {
    kind: "lxd.storage-pool", name: p.name,
    fields: { driver: p.driver, config: withoutReserved("lxd.storage-pool", p.config) },
    owner: isOwned(p.config) ? OUTPOST : p.name === "default" ? LXD_INIT : FOREIGN,
  };
}

export function normalizeNetwork(n: RawNetwork): SiteObject {
  return {
    kind: "lxd.network", name: n.name,
    fields: { type: n.type, config: withoutReserved("lxd.network", n.config) },
    owner: !n.managed ? HOST : isOwned(n.config) ? OUTPOST : FOREIGN,
  };
}

export function normalizeProfile(p: RawProfile): SiteObject {
  return {
    kind: "lxd.profile", name: p.name,
    fields: { description: p.description ?? "", config: withoutReserved("lxd.profile", p.config), devices: p.devices ?? {} },
    owner: isOwned(p.config) ? OUTPOST : p.name === "default" ? LXD_INIT : FOREIGN,
  };
}

/** The image an instance was made from is only known by fingerprint (`volatile.base_image`); plan.ts
 *  matches it against the spec's reference. `null` when LXD does not say (not made from an image). */
export function normalizeInstance(i: RawInstance): SiteObject {
  const base = i.config?.["volatile.base_image"];
  return {
    kind: "lxd.instance", name: i.name,
    fields: {
      type: i.type,
      image: base ? { fingerprint: base } : null,
      profiles: i.profiles ?? [],
      config: withoutReserved("lxd.instance", i.config),
      devices: i.devices ?? {},
      state: instanceState(i.status),
    },
    owner: isOwned(i.config) ? OUTPOST : FOREIGN,
  };
}

export function normalize(raw: LxdRaw, artifacts: readonly ArtifactRef[]): LxdObserved {
  const usage: Record<string, Usage> = {};
  for (const i of raw.instances) {
    if (i.status !== "Running" || !i.state) continue;
    usage[i.name] = { cpuSeconds: (i.state.cpu?.usage ?? 0) / 1e9, memoryBytes: i.state.memory?.usage ?? 0 };
  }
  return {
    objects: [
      ...raw.pools.map(normalizePool),
      ...raw.networks.map(normalizeNetwork),
      ...raw.profiles.map(normalizeProfile),
      ...raw.instances.map(normalizeInstance),
    ],
    images: raw.images.map((img) => ({ fingerprint: img.fingerprint, aliases: (img.aliases ?? []).map((a) => a.name) })),
    artifacts: artifacts.map((a) => ({ name: a.name, sha256: a.sha256 })),
    usage,
  };
}
