import { createHash, randomUUID } from "node:crypto";
import fsp, { type FileHandle } from "node:fs/promises";
import path from "node:path";
import { AgentRoutes, type Artifact } from "@outpost/shared";
import { Mutex } from "../db/mutex.ts";

/**
 * Content-addressed artifact storage: `<dir>/<sha256>` holds the bytes, `<dir>/<sha256>.json` the
 * names they were uploaded under. No database table: the digest *is* the key, and an agent may
 * only fetch digests its own bundles name (checked against the bundles table, see access.ts).
 *
 * One directory serves one hub process. With several hub replicas this directory is replaced by a
 * store every replica reaches (a shared volume or an object store behind the same interface).
 */

export const DEFAULT_ARTIFACT_MAX_BYTES = 4 * 1024 ** 3;

const SHA256_FILE = /^[a-f0-9]{64}$/;
/** Uploads land here first, on the same filesystem as the store, so the final rename is atomic. */
const INCOMING = ".incoming";
const ABANDONED_AFTER_MS = 3600_000;

export type ArtifactInputCode = "ARTIFACT_TOO_LARGE" | "ARTIFACT_EMPTY" | "DIGEST_MISMATCH";
/** An upload the store refused; nothing of it was kept. The route turns it into a 4xx. */
export class ArtifactInputError extends Error {
  constructor(readonly code: ArtifactInputCode, message: string) {
    super(message);
    this.name = "ArtifactInputError";
  }
}

export interface StoredArtifact {
  sha256: string;
  size: number;
  url: string;
  /** Every name these bytes were uploaded under (the same image may be known by several). */
  names: string[];
  createdAt: string;
}

interface Catalog { names: string[]; createdAt: string }

export interface OpenedArtifact { handle: FileHandle; size: number }

export function artifactUrl(sha256: string): string { return AgentRoutes.artifact(sha256); }

export class ArtifactStore {
  /** Sidecar (names) updates are read-modify-write: one at a time in this process. */
  readonly #catalogLock = new Mutex();

  private constructor(readonly dir: string, readonly maxBytes: number) {}

  /**
   * Creates the directory and drops uploads a previous run left half-written (a crash mid-upload).
   * Only files untouched for an hour: an upload in progress writes its file every few milliseconds,
   * and another process sharing the directory may have one running.
   */
  static async open(dir: string, opts: { maxBytes?: number; now?: number } = {}): Promise<ArtifactStore> {
    const incoming = path.join(dir, INCOMING);
    await fsp.mkdir(incoming, { recursive: true, mode: 0o700 });
    const cutoff = (opts.now ?? Date.now()) - ABANDONED_AFTER_MS;
    for (const f of await fsp.readdir(incoming)) {
      const st = await fsp.stat(path.join(incoming, f)).catch(() => null);
      if (st && st.mtimeMs < cutoff) await fsp.rm(path.join(incoming, f), { force: true });
    }
    return new ArtifactStore(dir, opts.maxBytes ?? DEFAULT_ARTIFACT_MAX_BYTES);
  }

  /**
   * Streams `body` to a temp file while hashing it, fsyncs, then renames it to its digest. Refused
   * uploads (too large, empty, not the expected digest, or a broken stream) leave nothing behind.
   * The same bytes uploaded again are kept once; the new name is added to the sidecar.
   */
  async put(name: string, body: AsyncIterable<Uint8Array> | null, opts: { expectedSha256?: string } = {}): Promise<{ artifact: Artifact; created: boolean }> {
    const tmp = path.join(this.dir, INCOMING, randomUUID());
    const hash = createHash("sha256");
    let size = 0;
    try {
      const fh = await fsp.open(tmp, "wx", 0o600);
      try {
        for await (const chunk of body ?? []) {
          size += chunk.byteLength;
          if (size > this.maxBytes) throw new ArtifactInputError("ARTIFACT_TOO_LARGE", `artifact is larger than the limit of ${this.maxBytes} bytes`);
          hash.update(chunk);
          await writeAll(fh, chunk);
        }
        await fh.sync();
      } finally {
        await fh.close();
      }
      if (size === 0) throw new ArtifactInputError("ARTIFACT_EMPTY", "request body is empty: send the artifact's bytes (Content-Type: application/octet-stream)");
      const sha256 = hash.digest("hex");
      if (opts.expectedSha256 && opts.expectedSha256 !== sha256) {
        throw new ArtifactInputError("DIGEST_MISMATCH", `uploaded bytes have sha256 ${sha256}, not the expectedSha256 ${opts.expectedSha256}: nothing was kept`);
      }
      const final = this.#blob(sha256);
      const created = !(await isFile(final));
      // The sidecar first: a blob on disk always has its names, a crash in between leaves at worst
      // a sidecar without a blob, which listing ignores and the next upload reuses.
      await this.#addName(sha256, name);
      if (created) {
        await fsp.rename(tmp, final);
        await syncDir(this.dir);
      }
      return { artifact: { name, sha256, size, url: artifactUrl(sha256) }, created };
    } finally {
      await fsp.rm(tmp, { force: true });
    }
  }

  /** The stored bytes, opened (so a later delete cannot pull them away mid-answer), or null. */
  async open(sha256: string): Promise<OpenedArtifact | null> {
    if (!SHA256_FILE.test(sha256)) return null; // only digests ever become paths: no traversal possible
    let handle: FileHandle;
    try { handle = await fsp.open(this.#blob(sha256), "r"); } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw e;
    }
    const st = await handle.stat();
    return { handle, size: st.size };
  }

  /** Every stored artifact, newest first. */
  async list(): Promise<StoredArtifact[]> {
    const out: StoredArtifact[] = [];
    for (const f of await fsp.readdir(this.dir)) {
      if (!SHA256_FILE.test(f)) continue;
      const st = await fsp.stat(this.#blob(f)).catch(() => null);
      if (!st?.isFile()) continue;
      const cat = await this.#catalog(f);
      out.push({ sha256: f, size: st.size, url: artifactUrl(f), names: cat?.names ?? [], createdAt: cat?.createdAt ?? st.mtime.toISOString() });
    }
    return out.sort((a, b) => b.createdAt.localeCompare(a.createdAt) || a.sha256.localeCompare(b.sha256));
  }

  #blob(sha256: string): string { return path.join(this.dir, sha256); }
  #sidecar(sha256: string): string { return path.join(this.dir, `${sha256}.json`); }

  async #catalog(sha256: string): Promise<Catalog | null> {
    try {
      const raw = JSON.parse(await fsp.readFile(this.#sidecar(sha256), "utf8")) as Partial<Catalog>;
      return { names: Array.isArray(raw.names) ? raw.names.filter((n) => typeof n === "string") : [], createdAt: String(raw.createdAt ?? "") };
    } catch { return null; }
  }

  #addName(sha256: string, name: string): Promise<void> {
    return this.#catalogLock.run(async () => {
      const cat = (await this.#catalog(sha256)) ?? { names: [], createdAt: new Date().toISOString() };
      if (cat.names.includes(name)) return;
      cat.names.push(name);
      const tmp = path.join(this.dir, INCOMING, `${randomUUID()}.json`);
      await fsp.writeFile(tmp, JSON.stringify(cat), { mode: 0o600, flush: true });
      await fsp.rename(tmp, this.#sidecar(sha256));
    });
  }
}

async function writeAll(fh: FileHandle, chunk: Uint8Array): Promise<void> {
  for (let off = 0; off < chunk.byteLength;) {
    const { bytesWritten } = await fh.write(chunk, off, chunk.byteLength - off);
    off += bytesWritten;
  }
}

async function isFile(p: string): Promise<boolean> {
  return (await fsp.stat(p).catch(() => null))?.isFile() ?? false;
}

/** A rename is durable only once the directory entry is on disk too. */
async function syncDir(dir: string): Promise<void> {
  const handle = await fsp.open(dir, "r");
  try { await handle.sync(); } finally { await handle.close(); }
}
