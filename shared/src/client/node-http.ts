import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";

/** The part of fetch's Response the agent client reads. */
export interface LightResponse {
  readonly status: number;
  readonly ok: boolean;
  readonly statusText: string;
  readonly headers: { get(name: string): string | null };
  /** The body as it arrives; cancel() drops the rest (and that connection). */
  readonly body: AsyncIterable<Uint8Array> & { cancel(): Promise<void> };
  text(): Promise<string>;
  json(): Promise<unknown>;
}

export interface LightRequest {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  signal?: AbortSignal | undefined;
  /** Default IDLE_TIMEOUT_MS. */
  idleTimeoutMs?: number;
}

/**
 * How long a connection may stay silent (no answer, no body bytes) before the request fails: the
 * 300 s fetch (undici) uses for headers and body, so a connection a NAT dropped without a word
 * cannot hold a report or an enrollment forever. Long-polls carry their own, shorter, signal.
 */
export const IDLE_TIMEOUT_MS = 300_000;

/** A request that failed before or while reading the answer, with the OS's code (ECONNREFUSED...). */
export class LightFetchError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
    this.name = "LightFetchError";
  }
}

/**
 * fetch for the small JSON exchanges of an agent, over node:http(s). Node's fetch (undici) costs a
 * long-running agent about 11 MB of RSS, and while a request is open (an agent holds its 30 s
 * long-poll open all day) its timer wheel wakes the process every half second. Same contract as
 * fetch where the agent relies on it: an abort rejects with the signal's reason (AbortError,
 * TimeoutError), before or during the body; anything else rejects with a LightFetchError.
 */
export function lightFetch(url: string, init: LightRequest = {}): Promise<LightResponse> {
  const { signal } = init;
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const u = new URL(url);
    const send = u.protocol === "https:" ? httpsRequest : u.protocol === "http:" ? httpRequest : null;
    if (!send) return reject(new LightFetchError("UNSUPPORTED_PROTOCOL", `unsupported protocol ${u.protocol} in ${u.origin}`));
    const headers: Record<string, string> = { ...init.headers };
    if (init.body !== undefined) headers["content-length"] = String(Buffer.byteLength(init.body));
    const req = send(u, { method: init.method ?? "GET", headers });
    const abort = () => req.destroy(new LightFetchError("ABORTED", "aborted"));
    signal?.addEventListener("abort", abort, { once: true });
    const done = () => signal?.removeEventListener("abort", abort);
    const failure = (e: unknown) => (signal?.aborted ? signal.reason : e instanceof LightFetchError ? e
      : new LightFetchError((e as NodeJS.ErrnoException).code ?? "NETWORK", (e as Error).message));
    const idle = init.idleTimeoutMs ?? IDLE_TIMEOUT_MS;
    req.setTimeout(idle, () => req.destroy(new LightFetchError("ETIMEDOUT", `${u.origin} sent nothing for ${idle / 1000} s`)));
    req.once("error", (e) => { done(); reject(failure(e)); });
    req.once("response", (res) => {
      res.once("close", done);
      resolve(lightResponse(res, failure));
    });
    req.end(init.body);
  });
}

function lightResponse(res: IncomingMessage, failure: (e: unknown) => unknown): LightResponse {
  const status = res.statusCode ?? 0;
  const body: LightResponse["body"] = {
    async *[Symbol.asyncIterator]() {
      try {
        for await (const chunk of res) yield chunk as Buffer;
      } catch (e) { throw failure(e); }
    },
    // An answer already received in full (a 204) is drained, so its keep-alive connection goes back
    // to the pool; one still arriving is cut off with its connection.
    cancel: async () => {
      if (!res.complete) return void res.destroy();
      if (!res.readableEnded) await new Promise((r) => { res.once("end", r).resume(); });
    },
  };
  const text = async () => {
    const chunks: Buffer[] = [];
    for await (const c of body) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString("utf8");
  };
  return {
    status, ok: status >= 200 && status < 300, statusText: res.statusMessage ?? "",
    headers: { get: (name) => { const v = res.headers[name.toLowerCase()]; return v === undefined ? null : Array.isArray(v) ? v.join(", ") : v; } },
    body, text, json: async () => JSON.parse(await text()) as unknown,
  };
}
