/**
 * A thin client for LXD's REST API on its unix socket (node:http `socketPath`; no `lxc` processes).
 *
 * - Every call answers the same way whether LXD handles the request synchronously (profiles,
 *   networks, pools) or as a background operation (instances, images): async operations are
 *   waited for with `GET /1.0/operations/<id>/wait`, in short slices so an abort is noticed.
 * - Errors become an `LxdError` carrying LXD's status code and message (HTTP errors and failed
 *   operations alike), so a step failure in the journal reads like LXD's own words.
 * - ETags: `get()` returns the `ETag` LXD sent; passing it back as `etag` sends `If-Match`, so a
 *   PUT built from a read fails with 412 (`isEtagMismatch`) instead of overwriting an edit made in
 *   between. LXD 5.0 sends no ETag for storage pools: those writes go without `If-Match`.
 * - An aborted signal destroys the request and rejects with an `AbortError` (what the reconciler
 *   expects on shutdown). LXD finishes an operation already started; observe() sees the result.
 */
import { createReadStream, statSync } from "node:fs";
import { request, type IncomingMessage } from "node:http";

export const DEFAULT_LXD_SOCKET = "/var/lib/lxd/unix.socket";

export class LxdError extends Error {
  constructor(
    readonly method: string,
    readonly path: string,
    /** LXD's error code (HTTP status for request errors, the operation's status code otherwise). */
    readonly status: number,
    readonly lxdMessage: string,
  ) {
    super(`LXD ${method} ${path}: ${lxdMessage} (${status})`);
    this.name = "LxdError";
  }
}

export const isNotFound = (e: unknown): boolean => e instanceof LxdError && e.status === 404;
export const isEtagMismatch = (e: unknown): boolean => e instanceof LxdError && e.status === 412;

export interface LxdOperation {
  id: string;
  status: string;
  status_code: number;
  err: string;
  metadata: Record<string, unknown> | null;
}

interface Envelope<T> {
  type: "sync" | "async" | "error";
  status_code: number;
  error_code: number;
  error: string;
  operation: string;
  metadata: T;
}

export interface CallOptions {
  /** ETag from a previous get(): sent as If-Match. */
  etag?: string;
  signal?: AbortSignal;
  headers?: Record<string, string>;
}

export interface LxdClientOptions {
  socketPath?: string;
  /** Longest wait for one background operation (image uploads, instance creation). */
  operationTimeoutMs?: number;
}

/** The slice of one `/wait` request: short enough that waiting never outlives a dead daemon by much. */
const WAIT_SLICE_S = 15;

export class LxdClient {
  readonly socketPath: string;
  private readonly operationTimeoutMs: number;

  constructor(opts: LxdClientOptions = {}) {
    this.socketPath = opts.socketPath ?? DEFAULT_LXD_SOCKET;
    this.operationTimeoutMs = opts.operationTimeoutMs ?? 10 * 60_000;
  }

  /** A sync GET: the metadata and the ETag LXD sent for it (if any). */
  async get<T>(path: string, signal?: AbortSignal): Promise<{ data: T; etag?: string }> {
    const r = await this.send<T>("GET", path, undefined, { signal });
    return { data: r.envelope.metadata, etag: r.etag };
  }

  /** Any call; a background operation is waited for and its outcome returned (or thrown). */
  async call<T = unknown>(method: string, path: string, body?: unknown, opts: CallOptions = {}): Promise<T | LxdOperation> {
    const r = await this.send<T | LxdOperation>(method, path, body === undefined ? undefined : { json: body }, opts);
    if (r.envelope.type !== "async") return r.envelope.metadata;
    return this.waitOperation(method, path, (r.envelope.metadata as LxdOperation).id, opts.signal);
  }

  /** Streams a local file as the request body (image uploads), then waits for the operation. */
  async upload(path: string, file: string, opts: CallOptions = {}): Promise<LxdOperation> {
    const r = await this.send<LxdOperation>("POST", path, { file }, opts);
    if (r.envelope.type !== "async") throw new LxdError("POST", path, r.envelope.status_code, "expected a background operation for an upload");
    return this.waitOperation("POST", path, r.envelope.metadata.id, opts.signal);
  }

  private async waitOperation(method: string, path: string, id: string, signal?: AbortSignal): Promise<LxdOperation> {
    const deadline = Date.now() + this.operationTimeoutMs;
    for (;;) {
      const { envelope } = await this.send<LxdOperation>("GET", `/1.0/operations/${encodeURIComponent(id)}/wait?timeout=${WAIT_SLICE_S}`, undefined, { signal });
      const op = envelope.metadata;
      if (op.status === "Success") return op;
      if (op.status !== "Running" && op.status !== "Pending") throw new LxdError(method, path, op.status_code, op.err || op.status);
      if (Date.now() > deadline) throw new LxdError(method, path, 504, `operation ${id} still ${op.status} after ${Math.round(this.operationTimeoutMs / 1000)} s`);
    }
  }

  private send<T>(method: string, path: string, body: { json: unknown } | { file: string } | undefined, opts: CallOptions): Promise<{ envelope: Envelope<T>; etag?: string }> {
    const headers: Record<string, string | number> = { ...opts.headers };
    let payload: Buffer | undefined;
    if (body && "json" in body) {
      payload = Buffer.from(JSON.stringify(body.json));
      headers["content-type"] = "application/json";
      headers["content-length"] = payload.length;
    } else if (body) {
      headers["content-type"] ??= "application/octet-stream";
      headers["content-length"] = statSync(body.file).size;
    }
    if (opts.etag) headers["if-match"] = opts.etag;

    return new Promise((resolve, reject) => {
      // An idle socket timeout guards requests LXD never answers; operation waits answer within WAIT_SLICE_S.
      const req = request({ socketPath: this.socketPath, host: "lxd", method, path, headers, signal: opts.signal, timeout: (WAIT_SLICE_S + 45) * 1000 }, (res) => {
        readJson<T>(res).then((envelope) => {
          const status = envelope?.error_code || res.statusCode || 0;
          if (!envelope) return reject(new LxdError(method, path, status, `non-JSON answer (HTTP ${res.statusCode})`));
          if (envelope.type === "error" || (res.statusCode ?? 0) >= 400) return reject(new LxdError(method, path, status, envelope.error || `HTTP ${res.statusCode}`));
          const etag = res.headers.etag;
          resolve({ envelope, etag: typeof etag === "string" ? etag : undefined });
        }, reject);
      });
      req.on("timeout", () => req.destroy(new LxdError(method, path, 504, "LXD did not answer in time")));
      req.on("error", (e: NodeJS.ErrnoException) => {
        if (e.name === "AbortError") return reject(e);
        if (e instanceof LxdError) return reject(e);
        // ENOENT / ECONNREFUSED: LXD is not running; say where we looked.
        reject(new LxdError(method, path, 503, `cannot reach LXD on ${this.socketPath}: ${e.code ?? e.message}`));
      });
      if (body && "file" in body) {
        const stream = createReadStream(body.file);
        stream.on("error", (e) => req.destroy(e));
        stream.pipe(req);
      } else req.end(payload);
    });
  }
}

async function readJson<T>(res: IncomingMessage): Promise<Envelope<T> | undefined> {
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  try { return JSON.parse(Buffer.concat(chunks).toString("utf8")) as Envelope<T>; } catch { return undefined; }
}
