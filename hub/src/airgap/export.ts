import { createHash } from "node:crypto";
import fsp from "node:fs/promises";
import path from "node:path";
import { base64url } from "jose";
import {
  artifactPath, BundlePayload, EXPORT_ARTIFACTS_DIR, EXPORT_BUNDLE, EXPORT_FORMAT, EXPORT_MANIFEST, EXPORT_TRUST,
  type AirgapClient, type ExportFile, type ExportManifest,
} from "@outpost/shared";

export interface WriteExportOptions {
  client: Pick<AirgapClient, "siteBundle" | "trust" | "artifact">;
  site: string;
  /** The directory to create. It must not exist yet, or be empty. */
  out: string;
  now?: Date;
}

export interface WriteExportResult {
  dir: string;
  site: string;
  bundleVersion: number;
  release: { name: string; version: string };
  artifacts: { name: string; sha256: string; size: number }[];
  bytes: number;
}

export class ExportError extends Error {
  constructor(readonly code: string, message: string) { super(message); this.name = "ExportError"; }
}

/**
 * `outpost bundle export`: everything a site with no network path needs, from the hub's API, into
 * one directory (format in shared/src/airgap/manifest.ts). Written to a temporary sibling and
 * renamed into place with the manifest last, so a directory named `out` is always complete.
 * Nothing secret goes in: the bundle and trust documents are what agents fetch anyway (public
 * keys and signatures only) and artifacts are content the bundle names.
 */
export async function writeExport(o: WriteExportOptions): Promise<WriteExportResult> {
  const out = path.resolve(o.out);
  const existing = await fsp.readdir(out).catch((e: NodeJS.ErrnoException) => {
    if (e.code === "ENOENT") return null;
    throw new ExportError("EXPORT_TARGET", `cannot use ${out}: ${e.code ?? e.message}`);
  });
  if (existing && existing.length) throw new ExportError("EXPORT_TARGET", `${out} already exists and is not empty: choose a new directory (an export is never mixed with another)`);

  const bundle = await o.client.siteBundle(o.site);
  const trust = await o.client.trust();
  // Read to list the artifacts, not trusted: the agent verifies the signature before using any of it.
  const payload = BundlePayload.parse(JSON.parse(new TextDecoder().decode(base64url.decode(bundle.jws.split(".")[1] ?? ""))));

  const tmp = `${out}.partial-${process.pid}`;
  await fsp.rm(tmp, { recursive: true, force: true });
  await fsp.mkdir(path.join(tmp, EXPORT_ARTIFACTS_DIR), { recursive: true });
  try {
    const files: Record<string, ExportFile> = {};
    const put = async (name: string, data: string) => {
      await fsp.writeFile(path.join(tmp, name), data);
      files[name] = { sha256: createHash("sha256").update(data).digest("hex"), size: Buffer.byteLength(data) };
    };
    await put(EXPORT_BUNDLE, bundle.jws);
    await put(EXPORT_TRUST, JSON.stringify(trust, null, 2) + "\n");
    for (const a of payload.artifacts) {
      const name = artifactPath(a.sha256);
      if (files[name]) continue; // two names, one digest
      files[name] = await download(o.client, a, path.join(tmp, name));
    }
    const manifest: ExportManifest = {
      format: EXPORT_FORMAT, site: o.site, bundleVersion: bundle.version, createdAt: (o.now ?? new Date()).toISOString(), files,
    };
    await fsp.writeFile(path.join(tmp, EXPORT_MANIFEST), JSON.stringify(manifest, null, 2) + "\n");
    if (existing) await fsp.rmdir(out);
    await fsp.rename(tmp, out);
    return {
      dir: out, site: o.site, bundleVersion: bundle.version,
      release: { name: payload.release.name, version: payload.release.version },
      artifacts: payload.artifacts.map((a) => ({ name: a.name, sha256: a.sha256, size: a.size })),
      bytes: Object.values(files).reduce((n, f) => n + f.size, 0),
    };
  } catch (e) {
    await fsp.rm(tmp, { recursive: true, force: true });
    throw e;
  }
}

/** One artifact from the hub to a file, hashed on the way; it must be exactly what the bundle names. */
async function download(client: WriteExportOptions["client"], a: { name: string; sha256: string; size: number }, file: string): Promise<ExportFile> {
  const body = await client.artifact(a.sha256);
  const hash = createHash("sha256");
  let size = 0;
  const fh = await fsp.open(file, "w");
  try {
    for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
      hash.update(chunk);
      size += chunk.byteLength;
      await fh.write(chunk);
    }
    await fh.sync();
  } finally { await fh.close(); }
  const sha256 = hash.digest("hex");
  if (sha256 !== a.sha256 || size !== a.size) {
    throw new ExportError("ARTIFACT_MISMATCH", `artifact ${a.name}: the hub's bytes (${sha256}, ${size} bytes) are not what the bundle names (${a.sha256}, ${a.size} bytes)`);
  }
  return { sha256, size };
}
