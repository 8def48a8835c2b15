import { pino, type Logger } from "pino";

/**
 * The agent's logger. Secrets never reach it by design (nothing logs the key, the enrollment token
 * or a JWS); the redact list is the safety net should a future log line pass an object holding one.
 */
export const REDACTED_PATHS = [
  "token", "enrollToken", "*.token", "*.enrollToken", "jws", "*.jws", "authorization", "*.authorization",
  "headers.authorization", "privateKey", "*.privateKey", "privateJwk", "*.privateJwk", "d", "*.d",
];

export function createLogger(level: string, site: string): Logger {
  return pino({ level, base: { svc: "outpost-agent", site }, redact: { paths: REDACTED_PATHS, censor: "[redacted]" } });
}
