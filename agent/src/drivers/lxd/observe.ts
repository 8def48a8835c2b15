/**
 * Reads the site from LXD: five listings (`?recursion=1`, instances with `?recursion=2` so their
 * CPU and memory come in the same answer), then normalises them (normalize.ts, pure).
 */
import type { LxdClient } from "./client.ts";
import { normalize, type ArtifactRef, type LxdObserved, type LxdRaw, type RawImage, type RawInstance, type RawNetwork, type RawPool, type RawProfile } from "./normalize.ts";

export async function readLxd(client: LxdClient, signal?: AbortSignal): Promise<LxdRaw> {
  const list = async <T>(path: string) => (await client.get<T[] | null>(path, signal)).data ?? [];
  const [pools, networks, profiles, instances, images] = await Promise.all([
    list<RawPool>("/1.0/storage-pools?recursion=1"),
    list<RawNetwork>("/1.0/networks?recursion=1"),
    list<RawProfile>("/1.0/profiles?recursion=1"),
    list<RawInstance>("/1.0/instances?recursion=2"),
    list<RawImage>("/1.0/images?recursion=1"),
  ]);
  return { pools, networks, profiles, instances, images };
}

export async function observeLxd(client: LxdClient, artifacts: readonly ArtifactRef[], signal?: AbortSignal): Promise<LxdObserved> {
  return normalize(await readLxd(client, signal), artifacts);
}
