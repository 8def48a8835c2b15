import { z } from "zod";
import { Name, SiteName } from "./names.ts";
import { Artifact, Spec } from "./spec.ts";

export const API_VERSION = "outpost/v1" as const;

/** Bundles stay small (large things go out of band as artifacts); anything bigger is refused unparsed. */
export const MAX_BUNDLE_BYTES = 1024 * 1024;
/** The longest compact JWS of a payload of `payloadBytes`: base64url (4/3) with room to spare, plus header and signature. */
export const maxBundleJwsChars = (payloadBytes = MAX_BUNDLE_BYTES): number => Math.ceil(payloadBytes * 1.4) + 1024;
/** What every transport reads of a bundle at most (HTTPS, MQTT): one more character is refused as BUNDLE_TOO_LARGE. */
export const MAX_BUNDLE_JWS_CHARS = maxBundleJwsChars();

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
