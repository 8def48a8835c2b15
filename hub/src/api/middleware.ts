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

/**
 * A request refused before its body was read (a 401 on a large upload, say) must not leave the
 * connection open: the server drains the unread rest for a moment and then drops the socket, which
 * a client reusing it (keep-alive) sees as its *next* request failing. Say `connection: close`, so
 * the client opens a fresh one.
 */
export function closeIfBodyUnread(): MiddlewareHandler {
  return async (c, next) => {
    await next();
    if (c.req.raw.body && !c.req.raw.bodyUsed) c.header("connection", "close");
  };
}
