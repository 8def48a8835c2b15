import { parse as parseCron } from "node-cron";

/**
 * Maintenance windows (DESIGN §4): a step the bundle marks disruptive (a kernel, LXD itself) is
 * applied only while a window is open. A window opens at each time its cron expression matches,
 * in its timezone, and stays open `durationMinutes`. A bundle with no windows sets no restriction.
 *
 * Pure (the clock is a parameter). node-cron only parses the expression; matching is done here,
 * minute by minute over the window's length, with cron's usual rule that when both day-of-month
 * and day-of-week are restricted a day matching either one counts. An expression or timezone that
 * cannot be understood opens nothing: disruptive changes wait rather than run at a surprising time.
 */
export interface Window { cron: string; durationMinutes: number; timezone: string }

interface Parsed { minute: Set<number>; hour: Set<number>; month: Set<number>; dom: (number | string)[]; dow: (number | string)[]; domAll: boolean; dowAll: boolean }

const parsedCache = new Map<string, Parsed | null>();
function parsed(cron: string): Parsed | null {
  if (!parsedCache.has(cron)) {
    let p: Parsed | null = null;
    try {
      const f = parseCron(cron);
      p = {
        minute: new Set(f.minute), hour: new Set(f.hour), month: new Set(f.month), dom: f.dayOfMonth, dow: f.dayOfWeek,
        domAll: f.dayOfMonth.length === 31, dowAll: f.dayOfWeek.length >= 7,
      };
    } catch { p = null; }
    parsedCache.set(cron, p);
  }
  return parsedCache.get(cron)!;
}

interface Wall { minute: number; hour: number; day: number; month: number; weekday: number; lastDay: number }
const WEEKDAYS: Record<string, number> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };
const formatters = new Map<string, Intl.DateTimeFormat | null>();
function formatter(tz: string): Intl.DateTimeFormat | null {
  if (!formatters.has(tz)) {
    let f: Intl.DateTimeFormat | null = null;
    try {
      f = new Intl.DateTimeFormat("en-US", { timeZone: tz, hourCycle: "h23", year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric", weekday: "short" });
    } catch { f = null; }
    formatters.set(tz, f);
  }
  return formatters.get(tz)!;
}

function wallClock(ms: number, f: Intl.DateTimeFormat): Wall {
  const parts: Record<string, string> = {};
  for (const p of f.formatToParts(new Date(ms))) parts[p.type] = p.value;
  const year = Number(parts.year), month = Number(parts.month);
  return {
    minute: Number(parts.minute), hour: Number(parts.hour), day: Number(parts.day), month,
    weekday: WEEKDAYS[parts.weekday ?? ""] ?? -1,
    lastDay: new Date(Date.UTC(year, month, 0)).getUTCDate(),
  };
}

function dayOfMonthMatches(list: (number | string)[], w: Wall): boolean {
  return list.some((d) => d === w.day || (d === "L" && w.day === w.lastDay));
}
function dayOfWeekMatches(list: (number | string)[], w: Wall): boolean {
  return list.some((d) => {
    if (typeof d === "number") return d % 7 === w.weekday;
    const m = /^(\d)#([1-5])$/.exec(d); // "6#2": the second Saturday of the month
    return !!m && Number(m[1]) % 7 === w.weekday && Math.ceil(w.day / 7) === Number(m[2]);
  });
}

function cronMatches(p: Parsed, w: Wall): boolean {
  if (!p.minute.has(w.minute) || !p.hour.has(w.hour) || !p.month.has(w.month)) return false;
  const dom = dayOfMonthMatches(p.dom, w), dow = dayOfWeekMatches(p.dow, w);
  if (!p.domAll && !p.dowAll) return dom || dow;
  return dom && dow;
}

export function windowOpen(win: Window, now: Date): boolean {
  const p = parsed(win.cron);
  const f = formatter(win.timezone);
  if (!p || !f) return false;
  const minuteStart = Math.floor(now.getTime() / 60_000) * 60_000;
  for (let m = 0; m < win.durationMinutes; m++) {
    if (cronMatches(p, wallClock(minuteStart - m * 60_000, f))) return true;
  }
  return false;
}

/** May disruptive steps run now? Yes when the bundle defines no windows, else only inside one. */
export function disruptionAllowed(windows: readonly Window[], now: Date): boolean {
  return windows.length === 0 || windows.some((w) => windowOpen(w, now));
}
