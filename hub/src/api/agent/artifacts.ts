import { Readable } from "node:stream";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import type { Hono, MiddlewareHandler } from "hono";
import { Sha256Hex } from "@outpost/shared";
import { siteMayFetch } from "../../artifacts/access.ts";
import { contentRange, parseRange } from "../../artifacts/range.ts";
import type { HubDeps, HubEnv } from "../deps.ts";
import { errorBody, HttpError } from "../errors.ts";
import { readParam } from "../input.ts";

/**
 * GET /agent/v1/artifacts/:sha256 — content-addressed downloads, resumable with `Range`.
 * A site gets only artifacts its own bundles name; anything else is the same 404 whether or not
 * the hub holds the bytes, so one site cannot probe for another's images. The hub does not re-hash
 * on every request (gigabytes per download): the agent checks digest and size against its bundle.
 */
export function registerArtifacts(app: Hono<HubEnv>, deps: HubDeps, auth: MiddlewareHandler<HubEnv>): void {
  app.get("/artifacts/:sha256", auth, async (c) => {
    const sha256 = readParam(c, "sha256", Sha256Hex);
    const site = c.get("site");
    const notFound = () => new HttpError(404, "ARTIFACT_NOT_FOUND", `no artifact with sha256 ${sha256} for site ${site.name}`);
    if (!deps.artifacts || !(await siteMayFetch(deps.hub.db, site.id, sha256))) throw notFound();
    const file = await deps.artifacts.open(sha256);
    if (!file) {
      // A bundle names it but nobody uploaded it: the operator's to fix, so say so in the hub's log.
      deps.logger.warn({ site: site.name, sha256 }, "a bundle names an artifact this hub does not hold");
      throw notFound();
    }
    const { handle, size } = file;
    const headers: Record<string, string> = {
      etag: `"${sha256}"`,
      "accept-ranges": "bytes",
      // Private: behind the site's own credentials. Immutable: the URL is the content's digest.
      "cache-control": "private, max-age=31536000, immutable",
    };
    const range = parseRange(c.req.header("range"), size);
    if (range.kind === "unsatisfiable" || c.req.method === "HEAD") await handle.close();
    if (range.kind === "unsatisfiable") {
      return c.json(errorBody("RANGE_NOT_SATISFIABLE", `range '${c.req.header("range")?.slice(0, 100)}' starts past the end of the artifact (${size} bytes)`), 416,
        { ...headers, "content-range": `bytes */${size}` });
    }
    const [status, start, end] = range.kind === "partial" ? [206, range.start, range.end] as const : [200, 0, size - 1] as const;
    headers["content-type"] = "application/octet-stream";
    headers["content-length"] = String(end - start + 1);
    if (range.kind === "partial") headers["content-range"] = contentRange(range, size);
    if (c.req.method === "HEAD") return c.body(null, status, headers);
    // The handle closes itself when the stream ends or is torn down (the agent hung up).
    const body = Readable.toWeb(handle.createReadStream({ start, ...(size > 0 ? { end } : {}) })) as WebReadableStream<Uint8Array>;
    return c.body(body as unknown as ReadableStream, status, headers);
  });
}
