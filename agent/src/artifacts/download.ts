import { createHash, type Hash } from "node:crypto";
import fs from "node:fs";
import fsp, { type FileHandle } from "node:fs/promises";
import path from "node:path";
import type { Logger } from "pino";
import { HubError, VerifyError, verifyArtifact, type AgentClient, type Artifact } from "@outpost/shared";
import { isAbortError } from "../lib/sleep.ts";

export interface DownloadOptions {
  dir: string;
  artifact: Artifact;
  client: Pick<AgentClient, "artifact">;
  log: Logger;
  signal: AbortSignal;
}

/**
 * One artifact from the hub into `<dir>/<sha256>`, by way of `<dir>/<sha256>.partial`:
 * - resumes a partial file left by an interrupted attempt with `Range: bytes=<its size>-`, hashing
 *   the bytes already on disk first, so the digest covers the whole file;
 * - hashes while writing and stops reading past the bundle's size (an endless answer cannot fill the disk);
 * - checks digest and size with `verifyArtifact`: on a mismatch the partial is deleted (resuming
 *   wrong bytes would never succeed) and VerifyError ARTIFACT_MISMATCH is thrown;
 * - on success fsyncs and renames, so `<sha256>` only ever names verified bytes.
 * An interruption (network, hub restart, abort) keeps the partial and throws: the next call resumes.
 * The bytes always come from the agent's own hub (`/agent/v1/artifacts/<sha256>`, with its request
 * token): the `url` field is that path for every artifact the hub's upload produces.
 */
export async function downloadArtifact(o: DownloadOptions): Promise<string> {
  const { artifact, dir, log } = o;
  const partial = path.join(dir, `${artifact.sha256}.partial`);
  const final = path.join(dir, artifact.sha256);
  await fsp.mkdir(dir, { recursive: true, mode: 0o700 });

  let offset = await sizeOf(partial);
  if (offset > artifact.size) offset = await restart(partial, log, artifact, "partial file is longer than the artifact");
  let hash = await hashPrefix(partial, offset);

  if (offset < artifact.size) {
    let res = await request(o, offset);
    if (res.start !== offset) {
      // The hub answered from another offset than asked (200: it ignored the Range; 416: our partial
      // is longer than its file). Start over from byte 0 rather than splice mismatched bytes.
      offset = await restart(partial, log, artifact, `hub answered from byte ${res.start ?? "(none)"} instead of ${offset}`);
      hash = createHash("sha256");
      if (res.start !== 0) { await res.body?.cancel().catch(() => {}); res = await request(o, 0); }
    }
    log.info({ artifact: artifact.name, sha256: artifact.sha256, size: artifact.size, resumeAt: offset }, offset > 0 ? "resuming artifact download" : "downloading artifact");
    offset = await receive(o, res.body, partial, offset, hash);
  }

  const got = { sha256: hash.digest("hex"), size: offset };
  try {
    verifyArtifact(artifact, got);
  } catch (e) {
    await fsp.rm(partial, { force: true });
    log.warn({ artifact: artifact.name, sha256: artifact.sha256, got }, "artifact does not match its bundle: discarded");
    throw e;
  }
  await fsp.rename(partial, final);
  await syncDir(dir);
  log.info({ artifact: artifact.name, sha256: artifact.sha256, size: artifact.size }, "artifact downloaded and verified");
  return final;
}

interface Answer { start: number | null; body: ReadableStream<Uint8Array> | null }

/** GET from `offset`; `start` is where the answer's bytes begin (null: a 416, no bytes at all). */
async function request(o: DownloadOptions, offset: number): Promise<Answer> {
  let res: Response;
  try {
    res = await o.client.artifact(o.artifact.sha256, offset, o.signal);
  } catch (e) {
    if (e instanceof HubError && e.status === 416 && offset > 0) return { start: null, body: null };
    throw e;
  }
  if (res.status === 206) {
    const m = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(res.headers.get("content-range") ?? "");
    return { start: m ? Number(m[1]) : null, body: res.body };
  }
  return { start: 0, body: res.body };
}

/** Appends the answer to the partial file from `offset`; returns the file's new length. */
async function receive(o: DownloadOptions, body: ReadableStream<Uint8Array> | null, partial: string, offset: number, hash: Hash): Promise<number> {
  const { artifact, log } = o;
  const fh = await fsp.open(partial, offset > 0 ? "a" : "w", 0o600);
  let at = offset;
  let logged = Math.floor((at * 10) / Math.max(1, artifact.size));
  try {
    for await (const chunk of body ?? []) {
      if (at + chunk.byteLength > artifact.size) {
        await body?.cancel().catch(() => {});
        throw new VerifyError("ARTIFACT_MISMATCH", `${artifact.name}: want ${artifact.sha256}/${artifact.size}, got more than ${artifact.size} bytes`);
      }
      hash.update(chunk);
      await writeAll(fh, chunk);
      at += chunk.byteLength;
      const tenth = Math.floor((at * 10) / artifact.size);
      if (tenth > logged) {
        logged = tenth;
        log.info({ artifact: artifact.name, bytes: at, size: artifact.size, percent: tenth * 10 }, "artifact download progress");
      }
    }
    await fh.sync();
  } catch (e) {
    if (e instanceof VerifyError) {
      await fh.close();
      await fsp.rm(partial, { force: true });
      log.warn({ artifact: artifact.name, sha256: artifact.sha256 }, "artifact larger than its bundle says: discarded");
      throw e;
    }
    if (isAbortError(e) || o.signal.aborted) throw o.signal.reason ?? e;
    const cause = (e as { cause?: { message?: string } }).cause?.message ?? (e as Error).message;
    // Transient (status 0): the partial is kept and the next attempt resumes from its end.
    throw new HubError(0, "DOWNLOAD_INTERRUPTED", `download of ${artifact.name} interrupted at ${at} of ${artifact.size} bytes: ${cause}`);
  } finally {
    await fh.close().catch(() => {}); // already closed on the mismatch path
  }
  return at;
}

/** A fresh start: the partial file emptied, offset 0. */
async function restart(partial: string, log: Logger, artifact: Artifact, why: string): Promise<number> {
  log.warn({ artifact: artifact.name, sha256: artifact.sha256 }, `restarting artifact download from byte 0: ${why}`);
  await fsp.rm(partial, { force: true });
  return 0;
}

async function sizeOf(p: string): Promise<number> {
  return (await fsp.stat(p).catch(() => null))?.size ?? 0;
}

/** sha256 state over the first `length` bytes of a file (the part an earlier attempt already got). */
async function hashPrefix(p: string, length: number): Promise<Hash> {
  const hash = createHash("sha256");
  if (length === 0) return hash;
  for await (const chunk of fs.createReadStream(p, { start: 0, end: length - 1 })) hash.update(chunk as Buffer);
  return hash;
}

async function writeAll(fh: FileHandle, chunk: Uint8Array): Promise<void> {
  for (let off = 0; off < chunk.byteLength;) {
    const { bytesWritten } = await fh.write(chunk, off, chunk.byteLength - off);
    off += bytesWritten;
  }
}

/** A rename is durable only once the directory entry is on disk too. */
async function syncDir(dir: string): Promise<void> {
  const handle = await fsp.open(dir, "r");
  try { await handle.sync(); } finally { await handle.close(); }
}
