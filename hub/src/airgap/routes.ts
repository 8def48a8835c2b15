import { Readable } from "node:stream";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { and, eq } from "drizzle-orm";
import type { Context, Hono } from "hono";
import {
  importPublic, parseReportsFile, ReportsFileError, Sha256Hex, SiteName, verifyReportsFile,
  type ReportsImportResponse, type SiteBundleResponse,
} from "@outpost/shared";
import type { HubDeps, HubEnv } from "../api/deps.ts";
import { HttpError } from "../api/errors.ts";
import { readJson, readParam } from "../api/input.ts";
import { newestBundle } from "../bundles/issue.ts";
import { sites } from "../db/schema.ts";
import { ingestReports } from "../reports/ingest.ts";
import { ReportsFileBody } from "./body.ts";

/** Reports are stored in slices this size: one transaction each, like one agent POST. */
const INGEST_SLICE = 500;

/**
 * Operator routes for sites with no network path to the hub (mounted under /api/v1). A bundle is
 * signed, so it can travel by hand: these routes hand the operator the exact bytes an agent would
 * fetch, and take back a site's signed reports file into the same de-duplicating store.
 */
export function registerAirgap(app: Hono<HubEnv>, deps: HubDeps): void {
  // The newest signed bundle, byte for byte: `outpost bundle export` writes it to bundle.jws.
  app.get("/sites/:site/bundle", async (c) => {
    const name = readParam(c, "site", SiteName);
    const site = await siteByName(deps, c, name);
    const newest = await newestBundle(deps.hub.db, site.id);
    if (!newest) throw new HttpError(404, "NO_BUNDLE", `site '${name}' has no bundle yet: assign it a release first (outpost release assign)`);
    return c.json({ site: name, version: newest.version, jws: newest.jws } satisfies SiteBundleResponse);
  });

  // Any stored artifact, for an operator (the agent route only serves what the site's bundles name).
  app.get("/artifacts/:sha256", async (c) => {
    const sha256 = readParam(c, "sha256", Sha256Hex);
    const file = deps.artifacts ? await deps.artifacts.open(sha256) : null;
    if (!file) throw new HttpError(404, "ARTIFACT_NOT_FOUND", `this hub holds no artifact with sha256 ${sha256}`);
    const body = Readable.toWeb(file.handle.createReadStream()) as WebReadableStream<Uint8Array>;
    return c.body(body as unknown as ReadableStream, 200, {
      "content-type": "application/octet-stream", "content-length": String(file.size), etag: `"${sha256}"`,
    });
  });

  /**
   * A reports file from `outpost agent export-reports`: checked against the site's approved key,
   * then stored with exactly the insert and de-duplication of POST /agent/v1/reports, so importing
   * the same file twice (or the agent later sending the same reports over the network) stores each
   * report once.
   */
  app.post("/reports/import", async (c) => {
    const raw = await readJson(c, ReportsFileBody);
    let file;
    try { file = parseReportsFile(raw); } catch (e) { throw refused(e); }
    const site = await siteByName(deps, c, file.site);
    if (site.status !== "approved") {
      throw new HttpError(409, "SITE_NOT_APPROVED", `site '${site.name}' is ${site.status}: only an approved site's reports are accepted`);
    }
    let payload;
    try { payload = await verifyReportsFile(file, site.name, await importPublic(site.publicKey)); } catch (e) { throw refused(e); }
    let stored = 0;
    for (let i = 0; i < payload.reports.length; i += INGEST_SLICE) {
      stored += (await ingestReports(deps, site, payload.reports.slice(i, i + INGEST_SLICE))).stored;
    }
    const total = payload.reports.length;
    deps.logger.info({ site: site.name, total, stored }, "reports file imported");
    return c.json({ site: site.name, total, stored, duplicates: total - stored } satisfies ReportsImportResponse);
  });
}

/**
 * A site by name, within the request's project when the operator API scopes requests to one
 * (set by the route guard): another project's site is "not found", as on every operator route.
 */
async function siteByName(deps: HubDeps, c: Context, name: string) {
  const projectId = (c.var as unknown as { project?: { id: string } }).project?.id;
  const where = projectId ? and(eq(sites.name, name), eq(sites.projectId, projectId)) : eq(sites.name, name);
  const [site] = await deps.hub.db.select().from(sites).where(where).limit(1);
  if (!site) throw new HttpError(404, "SITE_NOT_FOUND", `no site named '${name}'`);
  return site;
}

function refused(e: unknown): unknown {
  return e instanceof ReportsFileError ? new HttpError(400, e.code, e.message) : e;
}
