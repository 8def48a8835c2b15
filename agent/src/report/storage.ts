import { statfsSync } from "node:fs";
import type { Logger } from "pino";
import type { Store } from "../store/db.ts";
import type { Events } from "./events.ts";

/**
 * What the agent says about a full state directory (store/health.ts tracks it). While it lasts the
 * agent records nothing, so it changes nothing on the site either (every step is journaled before
 * it runs): the last good bundle stays in force as it is, the status goes to the hub directly
 * (report/reporter.ts), and the log says so once. When writes work again, a `storage-full` event
 * with the outage's start, end and refused writes is queued like any other.
 */
export function freeBytes(dir: string): number | null {
  try { const s = statfsSync(dir); return s.bavail * s.bsize; } catch { return null; }
}

export function watchStorage(o: { store: Store; events: Events; log: Logger; stateDir: string }): void {
  o.store.health.onChange(({ full, ended }) => {
    if (full) {
      o.log.error({ stateDir: o.stateDir, freeBytes: freeBytes(o.stateDir), err: full.error },
        `the state directory ${o.stateDir} is full: nothing can be recorded, so nothing on the site is changed until there is space again; ` +
        "the last good bundle stays in force and the hub is told directly. Free space on that file system.");
    }
    if (ended) {
      const message = `the state directory ${o.stateDir} was full from ${ended.since.toISOString()} to ${ended.until.toISOString()} ` +
        `(${ended.failedWrites} writes refused): nothing was recorded or changed on the site meanwhile`;
      o.log.info(message);
      void o.events.emit({
        type: "storage-full", severity: "warning", code: "STATE_DIR_FULL", message,
        details: { stateDir: o.stateDir, since: ended.since.toISOString(), until: ended.until.toISOString(), failedWrites: ended.failedWrites, error: ended.error },
      }).catch((e: unknown) => o.log.warn({ err: (e as Error).message }, "could not queue the storage-full event"));
    }
  });
}

/** The status to send straight to the hub while the outbox cannot take it. */
export function storageFullMessage(stateDir: string, since: Date, failedWrites: number): string {
  return `state directory ${stateDir} full since ${since.toISOString()} (${failedWrites} writes refused, ${freeBytes(stateDir) ?? "?"} bytes free): ` +
    "enforcing the last good bundle as it stands, recording and changing nothing until there is space";
}
