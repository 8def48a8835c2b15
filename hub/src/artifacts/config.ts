import { DEFAULT_ARTIFACT_MAX_BYTES } from "./store.ts";

/**
 * The upload limit: the `startHub` option, else OUTPOST_ARTIFACT_MAX_BYTES, else 4 GiB (a VM image
 * fits; a mistaken upload of a whole disk does not fill the hub's). Checked before anything starts.
 */
export function artifactMaxBytes(option: number | undefined, env: NodeJS.ProcessEnv = process.env): number {
  if (option !== undefined) return positive(option, "artifactMaxBytes");
  const raw = env.OUTPOST_ARTIFACT_MAX_BYTES;
  if (raw === undefined || raw === "") return DEFAULT_ARTIFACT_MAX_BYTES;
  return positive(Number(raw), "OUTPOST_ARTIFACT_MAX_BYTES", raw);
}

function positive(n: number, what: string, raw: string | number = n): number {
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`${what} must be a positive whole number of bytes, got '${raw}'`);
  return n;
}
