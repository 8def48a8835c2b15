import { z } from "zod";

/**
 * Object names end up in LXD URLs, OVSDB rows and ceph command lines: keep them to a safe,
 * portable alphabet so no driver ever has to escape anything.
 */
export const Name = z
  .string()
  .regex(/^[a-zA-Z0-9][a-zA-Z0-9._-]{0,62}$/, "must be 1-63 characters of letters, digits, '.', '_' or '-', starting with a letter or digit");

/** Site names double as MQTT topic segments and JWT issuers. */
export const SiteName = z
  .string()
  .regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, "must be a DNS label: lowercase letters, digits and '-', 1-63 characters");

export const Sha256Hex = z.string().regex(/^[a-f0-9]{64}$/, "must be 64 lowercase hex characters (sha256)");

/** Free-form config maps as LXD and OVN use them: string keys and string values only. */
export const StringMap = z.record(z.string().min(1).max(256), z.string().max(4096));
