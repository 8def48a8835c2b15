/**
 * Applies one LXD step. Every step re-reads its object first and converges it to the step's
 * desired fields, so a retry after a partial failure (or after someone changed the object since
 * the plan) does the right thing instead of repeating a stale action:
 * - writes are a PUT built from that read, sent with its ETag (If-Match): an edit made in between
 *   fails the step with 412 rather than being overwritten unseen; the retry reads again;
 * - deletes and updates refuse objects without Outpost's mark (apart from the adoptable `default`
 *   profile and pool, which are updated but never deleted), whatever the plan said;
 * - an instance is made from its image only after that image is in LXD (a bundle artifact is
 *   fetched and imported first), so a rebuild never destroys an instance it cannot replace.
 */
import type { Artifact } from "@outpost/shared";
import type { ArtifactSource } from "../../artifacts/types.ts";
import { sameJson } from "../../lib/canonical-json.ts";
import type { Step } from "../types.ts";
import {
  instanceCreateBody, instancePutBody, networkCreateBody, networkPutBody, poolCreateBody, poolPutBody, profileCreateBody, profilePutBody,
  type InstanceFields, type NetworkFields, type PoolFields, type ProfileFields,
} from "./bodies.ts";
import { isEtagMismatch, isNotFound, LxdError, type LxdClient } from "./client.ts";
import { normalizeInstance, OWNED_KEY, type RawImage, type RawInstance, type StringMap } from "./normalize.ts";
import { imageMatches, type ImageRef } from "./plan.ts";

export interface LxdLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface ApplyDeps {
  client: LxdClient;
  artifacts: ArtifactSource;
  currentArtifacts: () => readonly Artifact[];
  /** Graceful stop budget before a forced stop; 0 stops by force straight away. */
  stopTimeoutSeconds: number;
  log?: LxdLog;
}

const enc = encodeURIComponent;
const owned = (config: StringMap | null | undefined) => config?.[OWNED_KEY] === "true";

export async function applyLxdStep(deps: ApplyDeps, step: Step, signal?: AbortSignal): Promise<void> {
  switch (step.kind) {
    case "lxd.storage-pool": return applySimple(deps, step, signal, {
      path: "/1.0/storage-pools", adoptable: true,
      create: (f: PoolFields) => poolCreateBody(step.name, f),
      put: poolPutBody,
      // LXD cannot change a pool's driver in place, and recreating it would lose every volume on it.
      check: (cur, f) => cur.driver === f.driver ? null : `storage pool ${step.name} uses driver ${cur.driver}; changing it to ${f.driver} needs the pool emptied and recreated by hand`,
    });
    case "lxd.network": return applySimple(deps, step, signal, {
      path: "/1.0/networks", adoptable: false,
      create: (f: NetworkFields) => networkCreateBody(step.name, f),
      put: networkPutBody,
      check: (cur, f) => cur.type === f.type ? null : `network ${step.name} is of type ${cur.type}; LXD cannot change it to ${f.type} in place`,
    });
    case "lxd.profile": return applySimple(deps, step, signal, {
      path: "/1.0/profiles", adoptable: true,
      create: (f: ProfileFields) => profileCreateBody(step.name, f),
      put: profilePutBody,
    });
    case "lxd.instance": return applyInstance(deps, step, signal);
    default: throw new Error(`LXD driver: no such object kind ${step.kind} (step ${step.id})`);
  }
}

// ----------------------------------------------------------------------------- pools, networks, profiles

interface SimpleKind<Raw extends { config: StringMap | null }, F> {
  path: string;
  /** The `default` object lxd init made may be updated (never deleted) while the spec lists it. */
  adoptable: boolean;
  create(f: F): unknown;
  put(cur: Raw, f: F): unknown;
  check?(cur: Raw, f: F): string | null;
}

async function applySimple<Raw extends { config: StringMap | null; name: string }, F>(deps: ApplyDeps, step: Step, signal: AbortSignal | undefined, k: SimpleKind<Raw, F>): Promise<void> {
  const { client } = deps;
  const item = `${k.path}/${enc(step.name)}`;
  const what = `${step.kind} ${step.name}`;
  if (step.action === "create") {
    try {
      await client.call("POST", k.path, k.create(step.after as F), { signal });
      return;
    } catch (e) {
      // A create that LXD finished after an earlier attempt was cut off (crash, abort): update it instead.
      if (!(e instanceof LxdError) || !(await ownedExists(deps, item, signal))) throw e;
    }
  }
  const cur = await client.get<Raw>(item, signal).catch((e: unknown) => { if (isNotFound(e)) return null; throw e; });
  if (step.action === "delete") {
    if (!cur) return; // already gone
    if (!owned(cur.data.config)) throw new Error(`refusing to delete ${what}: it does not carry ${OWNED_KEY}, so Outpost did not create it`);
    try {
      await client.call("DELETE", item, undefined, { signal });
    } catch (e) {
      // "in use" alone does not say by what: often something Outpost does not own, which it will not remove.
      const users = e instanceof LxdError ? await usedBy(deps, item, signal) : [];
      if (users.length) throw new LxdError("DELETE", item, e instanceof LxdError ? e.status : 500, `${what} is still used by ${users.join(", ")}; it is deleted once nothing uses it (${(e as Error).message})`);
      throw e;
    }
    return;
  }
  if (!cur) throw new LxdError("GET", item, 404, `${what} vanished since it was observed; it will be created on the next pass`);
  if (!owned(cur.data.config) && !(k.adoptable && step.name === "default")) throw new Error(`refusing to update ${what}: Outpost did not create it`);
  const f = step.after as F;
  const problem = k.check?.(cur.data, f);
  if (problem) throw new Error(problem);
  await putWithEtag(deps, item, k.put(cur.data, f), cur.etag, what, signal);
}

async function usedBy(deps: ApplyDeps, item: string, signal?: AbortSignal): Promise<string[]> {
  try {
    const urls = (await deps.client.get<{ used_by?: string[] | null }>(item, signal)).data.used_by ?? [];
    return urls.map((u) => decodeURIComponent(u.replace(/^\/1\.0\//, "").replace(/\?.*$/, "")));
  } catch { return []; }
}

async function ownedExists(deps: ApplyDeps, item: string, signal?: AbortSignal): Promise<boolean> {
  try { return owned((await deps.client.get<{ config: StringMap | null }>(item, signal)).data.config); }
  catch (e) { if (isNotFound(e)) return false; throw e; }
}

async function putWithEtag(deps: ApplyDeps, path: string, body: unknown, etag: string | undefined, what: string, signal?: AbortSignal): Promise<void> {
  try {
    await deps.client.call("PUT", path, body, { etag, signal });
  } catch (e) {
    if (!isEtagMismatch(e)) throw e;
    throw new LxdError("PUT", path, 412, `${what} was changed by someone else while Outpost was updating it (ETag mismatch); it is read again and the step retried`);
  }
}

// -------------------------------------------------------------------------------------------- instances

async function applyInstance(deps: ApplyDeps, step: Step, signal?: AbortSignal): Promise<void> {
  const { client } = deps;
  const item = `/1.0/instances/${enc(step.name)}`;
  const f = step.after as InstanceFields;
  if (step.action === "create") {
    try {
      return await createInstance(deps, step.name, f, signal);
    } catch (e) {
      // A create that LXD finished after an earlier attempt was cut off: converge what is there instead.
      if (!(e instanceof LxdError) || !(await ownedExists(deps, item, signal))) throw e;
    }
  }

  const cur = await client.get<RawInstance>(item, signal).catch((e: unknown) => { if (isNotFound(e)) return null; throw e; });
  if (step.action === "delete") {
    if (!cur) return;
    if (!owned(cur.data.config)) throw new Error(`refusing to delete instance ${step.name}: it does not carry ${OWNED_KEY}, so Outpost did not create it`);
    await deleteInstance(deps, step.name, cur.data.status, signal);
    return;
  }
  if (!cur) throw new LxdError("GET", item, 404, `instance ${step.name} vanished since it was observed; it will be created on the next pass`);
  if (!owned(cur.data.config)) throw new Error(`refusing to change instance ${step.name}: Outpost did not create it`);

  if (step.action === "update" || step.action === "create") {
    const ref = f.image as ImageRef;
    const base = cur.data.config?.["volatile.base_image"];
    const images = (await client.get<RawImage[]>("/1.0/images?recursion=1", signal)).data ?? [];
    const ctx = { images: images.map((i) => ({ fingerprint: i.fingerprint, aliases: (i.aliases ?? []).map((a) => a.name) })), artifacts: deps.currentArtifacts() };
    if (cur.data.type !== f.type || !imageMatches(ref, base, ctx)) {
      // Resolve (and import) the new image before anything is destroyed.
      const fingerprint = await ensureImage(deps, ref, signal);
      deps.log?.info({ instance: step.name, from: base, to: fingerprint, type: f.type }, "rebuilding LXD instance (new image or type)");
      await deleteInstance(deps, step.name, cur.data.status, signal);
      return createInstance(deps, step.name, f, signal, fingerprint);
    }
    const seen = normalizeInstance(cur.data).fields;
    if (!sameJson([seen.profiles, seen.config, seen.devices], [f.profiles, f.config, f.devices])) {
      await putWithEtag(deps, item, instancePutBody(cur.data, f), cur.etag, `instance ${step.name}`, signal);
    }
  }
  await convergeState(deps, step.name, cur.data.status, f.state, signal);
}

async function createInstance(deps: ApplyDeps, name: string, f: InstanceFields, signal?: AbortSignal, fingerprint?: string): Promise<void> {
  const fp = fingerprint ?? (await ensureImage(deps, f.image as ImageRef, signal));
  await deps.client.call("POST", "/1.0/instances", instanceCreateBody(name, f, fp), { signal });
  await convergeState(deps, name, "Stopped", f.state, signal);
}

async function deleteInstance(deps: ApplyDeps, name: string, status: string, signal?: AbortSignal): Promise<void> {
  // It is going away with its disk: no point waiting for a graceful shutdown.
  if (status !== "Stopped") await stateChange(deps, name, { action: "stop", force: true }, signal);
  await deps.client.call("DELETE", `/1.0/instances/${enc(name)}`, undefined, { signal });
}

async function convergeState(deps: ApplyDeps, name: string, status: string, want: InstanceFields["state"], signal?: AbortSignal): Promise<void> {
  if (want === "running") {
    if (status === "Running") return;
    await stateChange(deps, name, { action: status === "Frozen" ? "unfreeze" : "start" }, signal);
    return;
  }
  if (status === "Stopped") return;
  if (status !== "Frozen" && deps.stopTimeoutSeconds > 0) {
    try {
      await stateChange(deps, name, { action: "stop", timeout: deps.stopTimeoutSeconds, force: false }, signal);
      return;
    } catch (e) {
      if (!(e instanceof LxdError)) throw e;
      deps.log?.warn({ instance: name, err: e.lxdMessage }, `graceful stop did not finish in ${deps.stopTimeoutSeconds} s; forcing`);
    }
  }
  await stateChange(deps, name, { action: "stop", force: true }, signal);
}

async function stateChange(deps: ApplyDeps, name: string, body: Record<string, unknown>, signal?: AbortSignal): Promise<void> {
  try {
    await deps.client.call("PUT", `/1.0/instances/${enc(name)}/state`, body, { signal });
  } catch (e) {
    // Someone (or LXD itself) got there first: the state we wanted is the state it is in.
    if (e instanceof LxdError) {
      const status = (await deps.client.get<{ status: string }>(`/1.0/instances/${enc(name)}/state`, signal)).data.status;
      const wanted = body.action === "stop" ? "Stopped" : "Running";
      if (status === wanted) return;
    }
    throw e;
  }
}

// ----------------------------------------------------------------------------------------------- images

/** The full fingerprint of the image `ref` names, importing a bundle artifact into LXD if it is not there yet. */
export async function ensureImage(deps: ApplyDeps, ref: ImageRef, signal?: AbortSignal): Promise<string> {
  const { client } = deps;
  const offline = "this site has no access to image servers: ship the image as a bundle artifact ({artifact: name}) or import it into LXD by hand";
  if ("fingerprint" in ref) {
    try { return (await client.get<{ fingerprint: string }>(`/1.0/images/${enc(ref.fingerprint)}`, signal)).data.fingerprint; }
    catch (e) { if (isNotFound(e)) throw new Error(`image ${ref.fingerprint} is not in LXD; ${offline}`); throw e; }
  }
  if ("alias" in ref) {
    try { return (await client.get<{ target: string }>(`/1.0/images/aliases/${enc(ref.alias)}`, signal)).data.target; }
    catch (e) { if (isNotFound(e)) throw new Error(`image alias ${ref.alias} does not exist in LXD; ${offline}`); throw e; }
  }
  const artifact = deps.currentArtifacts().find((a) => a.name === ref.artifact);
  if (!artifact) throw new Error(`the instance image names artifact ${ref.artifact}, which the current bundle does not carry`);
  if (await imageExists(deps, artifact.sha256, signal)) return artifact.sha256;

  const file = await deps.artifacts.fetch(artifact, signal);
  deps.log?.info({ artifact: artifact.name, sha256: artifact.sha256, size: artifact.size }, "importing image artifact into LXD");
  let fingerprint: string;
  try {
    const op = await client.upload("/1.0/images", file, {
      signal,
      // Says where the image came from in `lxc image show`.
      headers: { "X-LXD-properties": new URLSearchParams({ "outpost.artifact": artifact.name }).toString() },
    });
    fingerprint = String((op.metadata as { fingerprint?: unknown } | null)?.fingerprint ?? "");
  } catch (e) {
    // Imported meanwhile (another step, another run): fine.
    if (e instanceof LxdError && (await imageExists(deps, artifact.sha256, signal))) return artifact.sha256;
    throw e;
  }
  if (fingerprint !== artifact.sha256) {
    if (fingerprint) await client.call("DELETE", `/1.0/images/${enc(fingerprint)}`, undefined, { signal }).catch(() => undefined);
    throw new Error(`LXD fingerprinted artifact ${artifact.name} as ${fingerprint || "nothing"}, not its sha256 ${artifact.sha256}: only unified image tarballs (metadata.yaml + rootfs in one file) are supported`);
  }
  return fingerprint;
}

async function imageExists(deps: ApplyDeps, fingerprint: string, signal?: AbortSignal): Promise<boolean> {
  try { await deps.client.get(`/1.0/images/${enc(fingerprint)}`, signal); return true; }
  catch (e) { if (isNotFound(e)) return false; throw e; }
}
