import type { Context, Hono } from "hono";
import { ArtifactInputError, type ArtifactStore } from "../../artifacts/store.ts";
import type { HubDeps, HubEnv } from "../deps.ts";
import { errorBody, HttpError } from "../errors.ts";
import { readQuery } from "../input.ts";
import { UploadQuery } from "./route-table.ts";

/** Mounted path of the upload, which the app exempts from the small JSON body limit. */
export const ARTIFACT_UPLOAD_PATH = "/api/v1/artifacts";


const REFUSAL_STATUS = { ARTIFACT_TOO_LARGE: 413, ARTIFACT_EMPTY: 400, DIGEST_MISMATCH: 400 } as const;

/**
 * POST /api/v1/artifacts?name=N — the raw bytes (application/octet-stream), streamed to disk; answers
 * the `{name, sha256, size, url}` a release's artifacts[] takes, 201 when new, 200 when those bytes
 * were already stored. GET /api/v1/artifacts lists what is stored.
 */
export function registerArtifacts(app: Hono<HubEnv>, deps: HubDeps): void {
  app.post("/artifacts", async (c) => {
    try {
      const store = storeOf(deps);
      const q = readQuery(c, UploadQuery);
      const type = c.req.header("content-type");
      if (type && !/^application\/octet-stream\s*(;|$)/i.test(type)) {
        throw new HttpError(415, "UNSUPPORTED_MEDIA_TYPE", `send the artifact as raw bytes with Content-Type: application/octet-stream, not ${type.slice(0, 100)}`);
      }
      const declared = Number(c.req.header("content-length") ?? NaN);
      if (declared > store.maxBytes) throw tooLarge(store.maxBytes);
      let stored;
      try {
        stored = await store.put(q.name, c.req.raw.body, { expectedSha256: q.expectedSha256 });
      } catch (e) {
        if (e instanceof ArtifactInputError) throw e.code === "ARTIFACT_TOO_LARGE" ? tooLarge(store.maxBytes) : new HttpError(REFUSAL_STATUS[e.code], e.code, e.message);
        // The uploader went away mid-body: nothing was kept, and it is no fault of the hub's.
        if (c.req.raw.signal.aborted) throw new HttpError(400, "UPLOAD_INTERRUPTED", "the upload ended before its last byte: nothing was kept");
        throw e;
      }
      deps.logger.info({ artifact: q.name, sha256: stored.artifact.sha256, size: stored.artifact.size, created: stored.created }, "artifact stored");
      return c.json(stored.artifact, stored.created ? 201 : 200);
    } catch (e) {
      if (e instanceof HttpError) return refuse(c, e);
      throw e;
    }
  });

  app.get("/artifacts", async (c) => c.json({ artifacts: await storeOf(deps).list() }));
}

function storeOf(deps: HubDeps): ArtifactStore {
  if (!deps.artifacts) throw new HttpError(503, "ARTIFACTS_UNAVAILABLE", "this hub was started without an artifact store (no data directory)");
  return deps.artifacts;
}

function tooLarge(max: number): HttpError {
  return new HttpError(413, "ARTIFACT_TOO_LARGE", `artifact is larger than the limit of ${max} bytes (OUTPOST_ARTIFACT_MAX_BYTES)`);
}

/**
 * A refusal may come before the body was read (bad query, declared too large): close the
 * connection, or the client would reuse a socket that still carries the unread rest of a large body.
 */
function refuse(c: Context, e: HttpError): Response {
  return c.json(errorBody(e.code, e.message, e.issues), e.status, { connection: "close" });
}
