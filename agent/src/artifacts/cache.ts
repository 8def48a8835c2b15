import fsp from "node:fs/promises";
import path from "node:path";
import type { Logger } from "pino";
import { VerifyError, type AgentClient, type Artifact } from "@outpost/shared";
import { downloadArtifact } from "./download.ts";
import { pruneArtifacts } from "./prune.ts";
import type { ArtifactSource } from "./types.ts";

export interface ArtifactCacheOptions {
  /** The agent's state directory; artifacts live in `<stateDir>/artifacts`. */
  stateDir: string;
  client: Pick<AgentClient, "artifact">;
  log: Logger;
}

export interface ArtifactCache extends ArtifactSource {
  /** `<stateDir>/artifacts`. */
  readonly dir: string;
  /**
   * Deletes verified artifacts and leftover partial downloads that no longer appear in `keep`
   * (the sha256 of every artifact a bundle the agent may still apply names), except those being
   * downloaded now. Returns the deleted file names.
   */
  prune(keep: Iterable<string>): Promise<string[]>;
}

interface Download {
  promise: Promise<string>;
  controller: AbortController;
  /** Callers still waiting for it; when the last one gives up, the download is aborted. */
  waiters: number;
}

const SHA256 = /^[a-f0-9]{64}$/;

/**
 * The agent's local, content-addressed artifact cache: a verified file is answered from disk
 * without the network; otherwise one download per artifact, shared by every caller that asks
 * for it meanwhile (two instances on one image download it once).
 */
export function createArtifactCache(opts: ArtifactCacheOptions): ArtifactCache {
  const dir = path.join(opts.stateDir, "artifacts");
  const running = new Map<string, Download>();

  /** A verified copy, if there is one. Only verified bytes are ever renamed to `<sha256>`, so a
   *  matching size is enough here; re-hashing gigabytes on every apply would be the cost otherwise. */
  async function verified(artifact: Artifact): Promise<string | null> {
    const file = path.join(dir, artifact.sha256);
    const st = await fsp.stat(file).catch(() => null);
    if (!st?.isFile()) return null;
    if (st.size === artifact.size) return file;
    // Damaged on disk (or the bundle states another size): drop it and let a download decide.
    opts.log.warn({ artifact: artifact.name, sha256: artifact.sha256, size: st.size, want: artifact.size }, "cached artifact has the wrong size: fetching it again");
    await fsp.rm(file, { force: true });
    return null;
  }

  function start(artifact: Artifact): Download {
    const previous = running.get(artifact.sha256);
    const controller = new AbortController();
    // A download whose callers all gave up may still be unwinding: the next one waits for it, so
    // two never write the same partial file. Then it looks again: another caller may have finished it.
    const before = previous ? previous.promise.then(() => {}, () => {}) : Promise.resolve();
    const promise = before.then(async () => (await verified(artifact))
      ?? downloadArtifact({ dir, artifact, client: opts.client, log: opts.log, signal: controller.signal }));
    const d: Download = { controller, waiters: 0, promise };
    promise.catch(() => {}).finally(() => { if (running.get(artifact.sha256) === d) running.delete(artifact.sha256); });
    running.set(artifact.sha256, d);
    return d;
  }

  function join(d: Download, signal: AbortSignal | undefined): Promise<string> {
    d.waiters++;
    return new Promise<string>((resolve, reject) => {
      let done = false;
      const leave = () => {
        if (done) return false;
        done = true;
        d.waiters--;
        signal?.removeEventListener("abort", onAbort);
        return true;
      };
      const onAbort = () => {
        if (!leave()) return;
        if (d.waiters === 0) d.controller.abort(signal!.reason);
        reject(signal!.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      d.promise.then((p) => { if (leave()) resolve(p); }, (e) => { if (leave()) reject(e); });
    });
  }

  return {
    dir,
    async fetch(artifact, signal) {
      signal?.throwIfAborted();
      // The digest becomes a file name: only ever 64 hex characters (the bundle schema says so too).
      if (!SHA256.test(artifact.sha256)) throw new VerifyError("ARTIFACT_MISMATCH", `${artifact.name}: '${artifact.sha256.slice(0, 80)}' is not a sha256`);
      const have = running.has(artifact.sha256) ? null : await verified(artifact);
      if (have) return have;
      const current = running.get(artifact.sha256);
      const d = current && !current.controller.signal.aborted ? current : start(artifact);
      const file = await join(d, signal);
      // A download shared with a caller whose bundle gave the same digest another size: check ours too.
      const size = (await fsp.stat(file)).size;
      if (size !== artifact.size) throw new VerifyError("ARTIFACT_MISMATCH", `${artifact.name}: want ${artifact.sha256}/${artifact.size}, got ${artifact.sha256}/${size}`);
      return file;
    },
    async prune(keep) {
      const entries = await fsp.readdir(dir).catch(() => [] as string[]);
      const doomed = pruneArtifacts({ entries, keep, active: running.keys() });
      for (const f of doomed) await fsp.rm(path.join(dir, f), { force: true });
      if (doomed.length) opts.log.info({ deleted: doomed }, "pruned artifacts no bundle references");
      return doomed;
    },
  };
}
