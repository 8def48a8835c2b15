import { pino, type DestinationStream, type Logger } from "pino";

/**
 * The hub's logger. Request logs carry method, path, status and timing only: never headers
 * (Authorization holds tokens and JWTs) or bodies (enrollment and API tokens, keys). The redact
 * list is a second line of defence if someone logs an object carrying one of these anyway.
 */
export function createLogger(level = "info", destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { svc: "outpost-hub" },
    redact: {
      paths: ["authorization", "*.authorization", "token", "*.token", "secret", "*.secret", "privateJwk", "*.privateJwk", "adminToken", "*.adminToken"],
      censor: "[redacted]",
    },
  };
  return destination ? pino(options, destination) : pino(options);
}
