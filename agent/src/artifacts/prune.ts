/**
 * Which files of the artifact directory to delete, decided without I/O. The directory holds
 * verified artifacts (`<sha256>`) and interrupted downloads (`<sha256>.partial`). Deleted: those
 * of artifacts no bundle still references (`keep`), unless a download of that artifact is running
 * (`active`): it owns its partial file and is about to produce the verified one. A partial of a kept
 * artifact stays, so the next attempt resumes it. Anything else in the directory is not ours to judge.
 */
export interface PruneInput {
  /** The directory's entries (file names, not paths). */
  entries: Iterable<string>;
  /** sha256 of every artifact a bundle the agent may still apply references. */
  keep: Iterable<string>;
  /** sha256 of the artifacts being downloaded right now. */
  active?: Iterable<string>;
}

const ARTIFACT_FILE = /^([a-f0-9]{64})(\.partial)?$/;

export function pruneArtifacts(input: PruneInput): string[] {
  const spared = new Set([...input.keep, ...(input.active ?? [])]);
  const out: string[] = [];
  for (const entry of input.entries) {
    const m = ARTIFACT_FILE.exec(entry);
    if (m && !spared.has(m[1]!)) out.push(entry);
  }
  return out.sort();
}
