import { z } from "zod";
import { Sha256Hex, SiteName } from "../bundle/names.ts";

/**
 * An air-gap export: what `outpost bundle export` writes and `outpost agent import` reads, a plain
 * directory so it can travel on a USB stick and be looked at with `ls` and `sha256sum`:
 *
 *   manifest.json          this document (written last: a directory without it is incomplete)
 *   bundle.jws             the site's signed bundle, byte for byte as the hub serves it
 *   trust.json             the TrustBundle GET /agent/v1/keys serves (every root + the keys document)
 *   artifacts/<sha256>     every artifact the bundle names
 *
 * The manifest is NOT signed and is not a security boundary: its hashes catch a damaged or
 * half-copied stick with a clear message. Authenticity comes from the signatures inside bundle.jws
 * and trust.json, and artifacts are checked against the digests the signed bundle names.
 */
export const EXPORT_FORMAT = "outpost-airgap-export/v1";
export const EXPORT_MANIFEST = "manifest.json";
export const EXPORT_BUNDLE = "bundle.jws";
export const EXPORT_TRUST = "trust.json";
export const EXPORT_ARTIFACTS_DIR = "artifacts";

/** The only file names an export may list: nothing can point outside the directory. */
export const ExportPath = z.string().regex(/^(bundle\.jws|trust\.json|artifacts\/[a-f0-9]{64})$/, "must be bundle.jws, trust.json or artifacts/<sha256>");

export const ExportFile = z.strictObject({ sha256: Sha256Hex, size: z.number().int().min(0) });
export type ExportFile = z.output<typeof ExportFile>;

export const ExportManifest = z.strictObject({
  format: z.literal(EXPORT_FORMAT),
  site: SiteName,
  bundleVersion: z.number().int().min(1),
  createdAt: z.iso.datetime(),
  files: z.record(ExportPath, ExportFile)
    .refine((f) => EXPORT_BUNDLE in f && EXPORT_TRUST in f, `must list ${EXPORT_BUNDLE} and ${EXPORT_TRUST}`),
});
export type ExportManifest = z.output<typeof ExportManifest>;

export function artifactPath(sha256: string): string { return `${EXPORT_ARTIFACTS_DIR}/${sha256}`; }
