import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { ulid } from "ulid";
import type { Logger } from "pino";
import type { HubEnv } from "./deps.ts";
import { errorBody } from "./errors.ts";

/** A request id on every answer (x-request-id), and one log line per request without headers or body. */
export function requestLog(logger: Logger): MiddlewareHandler<HubEnv> {
  return async (c, next) => {
    const requestId = ulid();
    c.set("requestId", requestId);
    const started = performance.now();
    await next();
    c.header("x-request-id", requestId);
    const status = c.res.status;
    const line = { reqId: requestId, method: c.req.method, path: c.req.path, status, ms: Math.round(performance.now() - started) };
    // Long-polls answering "nothing new" are the fleet's heartbeat: keep them out of the info log.
    if (status >= 500) logger.error(line, "request failed");
    else if (status === 204 || status === 304 || c.req.method === "GET") logger.debug(line, "request");
    else logger.info(line, "request");
  };
}

/** 413 PAYLOAD_TOO_LARGE past `maxBytes`, checked on Content-Length and again while reading. */
export function limitBody(maxBytes: number): MiddlewareHandler {
  return bodyLimit({
    maxSize: maxBytes,
    // Answered before the body was read: close the connection, or the client would reuse a socket
    // that still has the unread rest of its body in flight.
    onError: (c) => c.json(errorBody("PAYLOAD_TOO_LARGE", `request body is larger than ${maxBytes} bytes`), 413, { connection: "close" }),
  });
}

/** How much of an unread body is read and dropped so its answer arrives; past this the connection is closed. */
export const DRAIN_MAX_BYTES = 16 * 1024 * 1024;

/**
 * A request refused before its body was read (a 401 on a large upload, a 413 on a declared length)
 * must still get its answer to the client, and leave a usable connection. Left unread, the body
 * stays in flight: the server drops the socket with it and the client sees its request (or its next
 * one on the same keep-alive connection) fail with EPIPE / "other side closed" instead of the 4xx.
 * So the rest is read and dropped, up to DRAIN_MAX_BYTES; a bigger one is cut off with
 * `connection: close`.
 */
export function drainUnreadBody(maxBytes = DRAIN_MAX_BYTES): MiddlewareHandler {
  return async (c, next) => {
    await next();
    const body = c.req.raw.body;
    if (!body || c.req.raw.bodyUsed) return;
    let seen = 0;
    const reader = body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        seen += value.byteLength;
        if (seen > maxBytes) break;
      }
    } catch { /* the client went away: nothing left to answer */ }
    await reader.cancel().catch(() => {});
    c.header("connection", "close");
  };
}
