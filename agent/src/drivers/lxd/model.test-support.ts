/**
 * A small pure model of LXD for the property tests: it takes the very request bodies apply.ts
 * builds (bodies.ts) and does to them what LXD 5.0 does, as seen against the real daemon:
 * fills a dir pool's `source` and a bridge's addresses when not given, refuses a pool PUT that
 * changes `source` and an instance PUT that drops volatile idmap keys, stamps `volatile.*` and
 * `image.*` keys on new instances, and keeps instance status. The real-LXD tests check the same
 * behaviour end to end; this lets fast-check explore thousands of worlds in milliseconds.
 */
import type { Artifact } from "@outpost/shared";
import { sameJson } from "../../lib/canonical-json.ts";
import type { Step } from "../types.ts";
import {
  instanceCreateBody, instancePutBody, networkCreateBody, networkPutBody, poolCreateBody, poolPutBody, profileCreateBody, profilePutBody,
  type InstanceFields, type NetworkFields, type PoolFields, type ProfileFields,
} from "./bodies.ts";
import { normalize, normalizeInstance, OWNED_KEY, type LxdObserved, type LxdRaw, type RawInstance, type StringMap } from "./normalize.ts";
import { imageMatches, resolveImageRef, type ImageRef } from "./plan.ts";

export const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

export function observeModel(world: LxdRaw, artifacts: readonly Artifact[]): LxdObserved {
  return normalize(clone(world), artifacts);
}

function ctxOf(world: LxdRaw, artifacts: readonly Artifact[]) {
  return { images: world.images.map((i) => ({ fingerprint: i.fingerprint, aliases: (i.aliases ?? []).map((a) => a.name) })), artifacts };
}

/** What apply.ts's ensureImage achieves: the fingerprint, importing a bundle artifact; throws like it when unresolvable. */
function ensureImage(world: LxdRaw, artifacts: readonly Artifact[], ref: ImageRef): string {
  const fp = resolveImageRef(ref, ctxOf(world, artifacts));
  if (!fp) throw new Error(`model: cannot resolve image ${JSON.stringify(ref)}`);
  if ("artifact" in ref && !world.images.some((i) => i.fingerprint === fp)) world.images.push({ fingerprint: fp, aliases: [] });
  if (!world.images.some((i) => i.fingerprint === fp)) throw new Error(`model: image ${fp} not in LXD`);
  return fp;
}

const owned = (c: StringMap | null | undefined) => c?.[OWNED_KEY] === "true";

/** Applies one step to the model world the way the driver and LXD together would. Throws where they would. */
export function applyModel(world: LxdRaw, artifacts: readonly Artifact[], step: Step): void {
  const name = step.name;
  const find = <T extends { name: string }>(list: T[]) => list.findIndex((x) => x.name === name);
  const guard = (config: StringMap | null, adoptable: boolean) => {
    if (!owned(config) && !(adoptable && name === "default")) throw new Error(`model: refusing ${step.id} on an object Outpost does not own`);
    if (step.action === "delete" && !owned(config)) throw new Error(`model: refusing to delete ${name}`);
  };
  switch (step.kind) {
    case "lxd.storage-pool": {
      const i = find(world.pools);
      if (step.action === "create") {
        if (i >= 0) throw new Error("model: pool exists");
        const b = poolCreateBody(name, step.after as PoolFields);
        world.pools.push({ name, driver: b.driver, description: "", config: { source: `/var/lib/lxd/storage-pools/${name}`, ...b.config } });
        return;
      }
      const cur = world.pools[i]!;
      guard(cur.config, true);
      if (step.action === "delete") { world.pools.splice(i, 1); return; }
      const b = poolPutBody(cur, step.after as PoolFields);
      if (b.config.source !== cur.config?.source) throw new Error("model: Pool source cannot be changed when not in pending state");
      cur.config = b.config;
      return;
    }
    case "lxd.network": {
      const i = find(world.networks);
      if (step.action === "create") {
        const b = networkCreateBody(name, step.after as NetworkFields);
        const auto: StringMap = b.type === "bridge" ? { "ipv4.address": "10.99.0.1/24", "ipv4.nat": "true", "ipv6.address": "fd42::1/64", "ipv6.nat": "true" } : {};
        world.networks.push({ name, type: b.type, managed: true, description: "", config: { ...auto, ...b.config } });
        return;
      }
      const cur = world.networks[i]!;
      guard(cur.config, false);
      if (step.action === "delete") { world.networks.splice(i, 1); return; }
      cur.config = networkPutBody(cur, step.after as NetworkFields).config;
      return;
    }
    case "lxd.profile": {
      const i = find(world.profiles);
      if (step.action === "create") { world.profiles.push(profileCreateBody(name, step.after as ProfileFields)); return; }
      const cur = world.profiles[i]!;
      guard(cur.config, true);
      if (step.action === "delete") { world.profiles.splice(i, 1); return; }
      Object.assign(cur, profilePutBody(cur, step.after as ProfileFields));
      return;
    }
    case "lxd.instance": {
      const f = step.after as InstanceFields;
      const create = () => {
        const fp = ensureImage(world, artifacts, f.image as ImageRef);
        const b = instanceCreateBody(name, f, fp);
        world.instances.push({
          name, type: b.type, status: f.state === "running" ? "Running" : "Stopped", architecture: "x86_64", description: "", ephemeral: false, stateful: false,
          config: { ...b.config, "volatile.base_image": fp, "volatile.idmap.base": "0", "volatile.uuid": `uuid-${name}`, "image.os": "busybox" },
          devices: b.devices, profiles: b.profiles,
        });
      };
      const i = find(world.instances);
      if (step.action === "create") { create(); return; }
      const cur = world.instances[i]!;
      guard(cur.config, false);
      if (step.action === "delete") { world.instances.splice(i, 1); return; }
      if (step.action === "update") {
        if (cur.type !== f.type || !imageMatches(f.image as ImageRef, cur.config?.["volatile.base_image"], ctxOf(world, artifacts))) {
          ensureImage(world, artifacts, f.image as ImageRef);
          world.instances.splice(i, 1);
          create();
          return;
        }
        const seen = normalizeInstance(cur).fields;
        if (!sameJson([seen.profiles, seen.config, seen.devices], [f.profiles, f.config, f.devices])) {
          const b = instancePutBody(cur, f);
          for (const k of Object.keys(cur.config ?? {})) {
            if (k.startsWith("volatile.idmap") && !(k in b.config)) throw new Error("model: Volatile idmap keys can't be deleted by the user");
          }
          Object.assign(cur, { config: b.config, devices: b.devices, profiles: b.profiles } satisfies Partial<RawInstance>);
        }
      }
      cur.status = f.state === "running" ? "Running" : "Stopped";
      return;
    }
    default: throw new Error(`model: unknown kind ${step.kind}`);
  }
}
