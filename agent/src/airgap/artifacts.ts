import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";
import { verifyArtifact, type Artifact } from "@outpost/shared";

/**
 * Copies an artifact from an export into the agent's artifact cache (`<stateDir>/artifacts`), where
 * the drivers look for it exactly as for one downloaded from the hub. Hashed while copying and
 * checked against the digest and size the signed bundle names (VerifyError ARTIFACT_MISMATCH
 * otherwise): only verified bytes are ever renamed to `<sha256>`, the cache's one invariant.
 * Returns false when the cache already held it.
 */
export async function copyArtifactIntoCache(src: string, cacheDir: string, artifact: Artifact): Promise<boolean> {
  await fsp.mkdir(cacheDir, { recursive: true, mode: 0o700 });
  const final = path.join(cacheDir, artifact.sha256);
  const st = await fsp.stat(final).catch(() => null);
  if (st?.isFile() && st.size === artifact.size) return false;
  // Not `<sha256>.partial`: that name belongs to a download a running agent may have in progress.
  const tmp = path.join(cacheDir, `${artifact.sha256}.import-${process.pid}`);
  const hash = createHash("sha256");
  let size = 0;
  const out = await fsp.open(tmp, "w", 0o600);
  try {
    for await (const chunk of createReadStream(src)) {
      const b = chunk as Buffer;
      hash.update(b);
      size += b.byteLength;
      if (size > artifact.size) break; // no need to read further: it cannot match
      await out.write(b);
    }
    await out.sync();
  } finally { await out.close(); }
  try {
    verifyArtifact(artifact, { sha256: hash.digest("hex"), size });
  } catch (e) {
    await fsp.rm(tmp, { force: true });
    throw e;
  }
  await fsp.rename(tmp, final);
  const d = await fsp.open(cacheDir, "r");
  try { await d.sync(); } finally { await d.close(); }
  return true;
}
