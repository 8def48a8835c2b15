import { Cron } from "croner";

/**
 * Maintenance windows for rollouts (pure: the clock is a parameter). A window opens each time its
 * cron expression fires, in a time zone, and stays open `durationMinutes`.
 *
 * Why croner and not node-cron (which drives the tick): node-cron 4 parses and validates, but its
 * next/previous-run answers belong to a scheduled task and count from the real clock. The engine
 * needs "when did this window last open, and when does it next open, as seen from `now`" for an
 * injected `now` and any IANA zone, DST included; croner's `previousRuns(1, ref)` / `nextRun(ref)`
 * answer exactly that, with no timers (a Cron built without a callback schedules nothing).
 * Five-field expressions only, like the agent's own windows, with Vixie cron's rule that a day
 * matching either a restricted day-of-month or a restricted day-of-week counts.
 */
export interface Window { cron: string; durationMinutes: number; timezone: string }

const crons = new Map<string, Cron | null>();
function cronFor(expr: string, timezone: string): Cron | null {
  const key = `${timezone}\u0000${expr}`;
  let c = crons.get(key);
  if (c === undefined) {
    try { c = new Cron(expr, { timezone, mode: "5-part", domAndDow: false, paused: true }); } catch { c = null; }
    crons.set(key, c);
  }
  return c;
}

/** Why an expression is refused (for a 400 naming the field), or null when croner accepts it. */
export function cronError(expr: string): string | null {
  try { new Cron(expr, { mode: "5-part", paused: true }); return null; } catch (e) { return (e as Error).message; }
}

/** Is `win` open at `now`, evaluated in `timezone` (the site's zone) or else the window's own? */
export function windowOpen(win: Window, now: Date, timezone: string | null = null): boolean {
  const c = cronFor(win.cron, timezone ?? win.timezone);
  if (!c) return false; // an expression or zone we cannot evaluate opens nothing: never start at a surprising time
  // previousRuns looks strictly before its reference: +1 ms so a window opening exactly now counts.
  const last = c.previousRuns(1, new Date(now.getTime() + 1))[0];
  return last !== undefined && now.getTime() - last.getTime() < win.durationMinutes * 60_000;
}

/** No windows means no restriction; otherwise any open window will do. */
export function anyWindowOpen(windows: readonly Window[], now: Date, timezone: string | null = null): boolean {
  return windows.length === 0 || windows.some((w) => windowOpen(w, now, timezone));
}

/** The next time one of the windows opens after `now` (null: none ever does, or no windows). */
export function nextOpening(windows: readonly Window[], now: Date, timezone: string | null = null): Date | null {
  let best: Date | null = null;
  for (const w of windows) {
    const next = cronFor(w.cron, timezone ?? w.timezone)?.nextRun(now) ?? null;
    if (next && (!best || next < best)) best = next;
  }
  return best;
}

/**
 * A site's time zone from its label. Label values cannot hold '/', so zones are written with '.'
 * (Europe.Lisbon); IANA names never contain '.', so the mapping is exact. Null when absent or not
 * a zone this runtime knows: the caller then treats the site's windows as closed.
 */
export function timezoneFromLabel(value: string | undefined): string | null | undefined {
  if (value === undefined || value === "") return undefined;
  const tz = value.replaceAll(".", "/");
  try { new Intl.DateTimeFormat("en-US", { timeZone: tz }); return tz; } catch { return null; }
}
