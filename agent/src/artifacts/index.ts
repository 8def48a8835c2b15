export type { ArtifactSource } from "./types.ts";
export { createArtifactCache, type ArtifactCache, type ArtifactCacheOptions } from "./cache.ts";
export { pruneArtifacts, type PruneInput } from "./prune.ts";
