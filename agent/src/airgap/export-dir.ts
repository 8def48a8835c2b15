import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";
import {
  EXPORT_BUNDLE, EXPORT_FORMAT, EXPORT_MANIFEST, EXPORT_TRUST, ExportManifest, TrustBundle,
  type ExportManifest as Manifest,
} from "@outpost/shared";
import { AirgapError } from "./errors.ts";

export interface ExportDir {
  dir: string;
  manifest: Manifest;
  jws: string;
  trust: TrustBundle;
}

/** sha256 and size of a file, streamed (artifacts may be gigabytes). */
export async function hashFile(file: string): Promise<{ sha256: string; size: number }> {
  const hash = createHash("sha256");
  let size = 0;
  for await (const chunk of createReadStream(file)) { hash.update(chunk as Buffer); size += (chunk as Buffer).byteLength; }
  return { sha256: hash.digest("hex"), size };
}

/**
 * Opens an export directory and checks every file against the manifest before anything is trusted
 * or changed: a stick copied half-way or a file edited by hand is refused here, by name. (This is
 * integrity, not authenticity: the signatures inside bundle.jws and trust.json are checked later.)
 */
export async function readExportDir(dir: string): Promise<ExportDir> {
  const manifestPath = path.join(dir, EXPORT_MANIFEST);
  let text: string;
  try { text = await fsp.readFile(manifestPath, "utf8"); } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new AirgapError("EXPORT_UNREADABLE", code === "ENOENT"
      ? `${manifestPath} is missing: ${dir} is not an Outpost export (or was copied incompletely; the manifest is written last)`
      : `cannot read ${manifestPath}: ${(e as Error).message}`);
  }
  let raw: unknown;
  try { raw = JSON.parse(text); } catch (e) { throw new AirgapError("MANIFEST_MALFORMED", `${manifestPath} is not JSON: ${(e as Error).message}`); }
  const parsed = ExportManifest.safeParse(raw);
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    throw new AirgapError("MANIFEST_MALFORMED", `${manifestPath} is not an ${EXPORT_FORMAT} manifest: ${i ? `${i.path.join(".") || "(manifest)"}: ${i.message}` : "invalid"}`);
  }
  const manifest = parsed.data;
  for (const [name, want] of Object.entries(manifest.files)) {
    const file = path.join(dir, name);
    const got = await hashFile(file).catch((e: NodeJS.ErrnoException) => {
      throw new AirgapError("MANIFEST_MISMATCH", `${name} is listed in the manifest but ${e.code === "ENOENT" ? "missing" : `unreadable (${e.code ?? e.message})`}`);
    });
    if (got.sha256 !== want.sha256 || got.size !== want.size) {
      throw new AirgapError("MANIFEST_MISMATCH", `${name} does not match the manifest (want sha256 ${want.sha256}, ${want.size} bytes; got ${got.sha256}, ${got.size} bytes): damaged or altered`);
    }
  }
  const jws = await fsp.readFile(path.join(dir, EXPORT_BUNDLE), "utf8");
  let trust: TrustBundle;
  try {
    trust = TrustBundle.parse(JSON.parse(await fsp.readFile(path.join(dir, EXPORT_TRUST), "utf8")));
  } catch (e) {
    throw new AirgapError("TRUST_MALFORMED", `${EXPORT_TRUST} is not the hub's trust documents: ${(e as Error).message.slice(0, 300)}`);
  }
  return { dir, manifest, jws, trust };
}
