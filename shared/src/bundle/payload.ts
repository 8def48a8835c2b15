import { z } from "zod";
import { Name, SiteName } from "./names.ts";
import { Artifact, Spec } from "./spec.ts";

export const API_VERSION = "outpost/v1" as const;

/** Bundles stay small (large things go out of band as artifacts); anything bigger is refused unparsed. */
export const MAX_BUNDLE_BYTES = 1024 * 1024;

export const ReleaseRef = z.strictObject({ name: Name, version: z.string().min(1).max(64) });

export const BundlePayload = z.strictObject({
  apiVersion: z.literal(API_VERSION),
  site: SiteName,
  version: z.number().int().min(1),
  issuedAt: z.iso.datetime(),
  expiresAt: z.iso.datetime(),
  keysVersion: z.number().int().min(1),
  release: ReleaseRef,
  spec: Spec,
  artifacts: z.array(Artifact).default([]),
});
export type BundlePayload = z.output<typeof BundlePayload>;
export type BundlePayloadInput = z.input<typeof BundlePayload>;
