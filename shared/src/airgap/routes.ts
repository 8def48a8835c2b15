import { z } from "zod";
import { SiteName } from "../bundle/names.ts";

/** Operator routes for air-gapped sites (hub/src/airgap). */
export const AirgapRoutes = {
  /** GET: the site's newest signed bundle `{site, version, jws}`. */
  siteBundle: (s: string) => `/api/v1/sites/${encodeURIComponent(s)}/bundle`,
  /** GET: an artifact's bytes, for an operator carrying them to a site. */
  artifact: (sha256: string) => `/api/v1/artifacts/${sha256}`,
  /** POST: a signed reports file (`ReportsFile`), ingested like POST /agent/v1/reports. */
  reportsImport: "/api/v1/reports/import",
} as const;

export const SiteBundleResponse = z.object({ site: SiteName, version: z.number().int().min(1), jws: z.string() });
export type SiteBundleResponse = z.output<typeof SiteBundleResponse>;
export const ReportsImportResponse = z.object({
  site: SiteName, total: z.number().int(), stored: z.number().int(), duplicates: z.number().int(),
});
export type ReportsImportResponse = z.output<typeof ReportsImportResponse>;
