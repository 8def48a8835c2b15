/**
 * The request bodies apply.ts sends, built from a step's desired fields and (for updates) the
 * object as LXD just reported it. Pure, so the property tests run the very same bodies through a
 * model of LXD.
 *
 * A PUT replaces the whole object, so it must carry back what LXD owns: `volatile.*` keys (LXD
 * refuses a PUT that drops its idmap keys), an instance's `image.*` keys, the ownership mark, and
 * the keys LXD computed that the spec does not set (a dir pool's `source` cannot change at all).
 */
import { isReservedKey, OWNED_KEY, type Devices, type RawInstance, type RawNetwork, type RawPool, type RawProfile, type StringMap } from "./normalize.ts";
import { computedKeys } from "./plan.ts";

export interface PoolFields { driver: string; config: StringMap }
export interface NetworkFields { type: string; config: StringMap }
export interface ProfileFields { description: string; config: StringMap; devices: Devices }
export interface InstanceFields {
  type: "container" | "virtual-machine";
  image: unknown;
  profiles: string[];
  config: StringMap;
  devices: Devices;
  state: "running" | "stopped";
}

const MARK: StringMap = { [OWNED_KEY]: "true" };

/** Desired config plus what LXD owns in the current config (reserved keys, computed keys the spec leaves out). */
export function mergeConfig(kind: string, current: StringMap | null | undefined, desired: StringMap): StringMap {
  const computed = computedKeys(kind);
  const kept: StringMap = {};
  for (const [k, v] of Object.entries(current ?? {})) {
    if (isReservedKey(kind, k) || (computed.includes(k) && !(k in desired))) kept[k] = v;
  }
  return { ...desired, ...kept };
}

export const poolCreateBody = (name: string, f: PoolFields) => ({ name, driver: f.driver, config: { ...f.config, ...MARK } });
export const poolPutBody = (cur: RawPool, f: PoolFields) => ({ description: cur.description ?? "", config: mergeConfig("lxd.storage-pool", cur.config, f.config) });

export const networkCreateBody = (name: string, f: NetworkFields) => ({ name, type: f.type, config: { ...f.config, ...MARK } });
export const networkPutBody = (cur: RawNetwork, f: NetworkFields) => ({ description: cur.description ?? "", config: mergeConfig("lxd.network", cur.config, f.config) });

export const profileCreateBody = (name: string, f: ProfileFields) => ({ name, description: f.description, config: { ...f.config, ...MARK }, devices: f.devices });
export const profilePutBody = (cur: RawProfile, f: ProfileFields) => ({ description: f.description, config: mergeConfig("lxd.profile", cur.config, f.config), devices: f.devices });

export const instanceCreateBody = (name: string, f: InstanceFields, fingerprint: string) => ({
  name, type: f.type, source: { type: "image", fingerprint },
  profiles: f.profiles, config: { ...f.config, ...MARK }, devices: f.devices,
});
export const instancePutBody = (cur: RawInstance, f: InstanceFields) => ({
  architecture: cur.architecture, description: cur.description ?? "", ephemeral: cur.ephemeral ?? false, stateful: cur.stateful ?? false,
  profiles: f.profiles, config: mergeConfig("lxd.instance", cur.config, f.config), devices: f.devices,
});
