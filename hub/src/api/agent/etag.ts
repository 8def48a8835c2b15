/** Bundle ETags are the version: `"v7"`. Pure helpers for the conditional-request rules. */
export const bundleEtag = (version: number) => `"v${version}"`;

/** RFC 9110 If-None-Match: a comma list of (maybe weak) tags, or `*` for "any current representation". */
export function ifNoneMatchHits(header: string | undefined, etag: string, exists: boolean): boolean {
  if (!header) return false;
  return header.split(",").map((t) => t.trim().replace(/^W\//, "")).some((t) => t === etag || (t === "*" && exists));
}
