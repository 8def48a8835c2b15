import { API_VERSION, matches, parseSelector, type Artifact, type BundlePayloadInput, type Spec } from "@outpost/shared";

/**
 * Pure decisions behind an assignment: which sites a selector takes, the next bundle version of a
 * site, and the payload to sign. No I/O, so every rule is unit-tested on its own.
 */

export interface Candidate { name: string; labels: Record<string, string>; status: string }

/** Approved sites whose labels the selector matches (throws SelectorError naming the bad term). */
export function selectSites<T extends Candidate>(selector: string, sites: T[]): T[] {
  const reqs = parseSelector(selector);
  return sites.filter((s) => s.status === "approved" && matches(reqs, s.labels));
}

/** Versions are strictly increasing per site (the agent's rollback floor): previous max + 1. */
export function nextVersion(previous: number | null | undefined): number { return (previous ?? 0) + 1; }

export interface PayloadInput {
  site: string;
  version: number;
  now: Date;
  ttlHours: number;
  keysVersion: number;
  release: { name: string; version: string; spec: Spec; artifacts: Artifact[] };
}

export function bundlePayload(p: PayloadInput): BundlePayloadInput {
  return {
    apiVersion: API_VERSION,
    site: p.site,
    version: p.version,
    issuedAt: p.now.toISOString(),
    expiresAt: new Date(p.now.getTime() + p.ttlHours * 3600_000).toISOString(),
    keysVersion: p.keysVersion,
    release: { name: p.release.name, version: p.release.version },
    spec: p.release.spec,
    artifacts: p.release.artifacts,
  };
}
