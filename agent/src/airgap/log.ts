import { pino, type Logger } from "pino";
import { REDACTED_PATHS } from "../lib/log.ts";

/** The agent's logger for one-shot commands: on stderr, since stdout carries the summary (or --json). */
export function stderrLogger(level: string, site: string): Logger {
  return pino({ level, base: { svc: "outpost-agent", site }, redact: { paths: REDACTED_PATHS, censor: "[redacted]" } }, pino.destination(2));
}
