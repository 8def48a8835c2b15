import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

/**
 * What Linux says about one process, from /proc: memory from /proc/<pid>/status, CPU time from
 * /proc/<pid>/stat (all threads), wake-ups as context switches summed over /proc/<pid>/task/*.
 */
export interface ProcSample {
  at: number;
  rssKiB: number;
  hwmKiB: number;
  anonKiB: number;
  fileKiB: number;
  /** utime + stime, in seconds. */
  cpuSeconds: number;
  /** voluntary + involuntary context switches of every thread: each one is a wake-up. */
  switches: number;
  /** The same for the main thread alone, where the event loop (timers, sockets) runs. */
  mainSwitches: number;
}

const CLK_TCK = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;

function statusKiB(status: string, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status);
  if (!m) throw new Error(`/proc status has no ${field}`);
  return Number(m[1]);
}

export function sampleProc(pid: number): ProcSample {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  // Fields after the command name, which is in parentheses and may itself hold spaces.
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime: fields 14 and 15 of stat(5)
  const ctxt = (text: string) => ["voluntary_ctxt_switches", "nonvoluntary_ctxt_switches"]
    .reduce((n, f) => n + Number(new RegExp(`^${f}:\\s+(\\d+)`, "m").exec(text)?.[1] ?? 0), 0);
  let switches = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      switches += ctxt(readFileSync(`/proc/${pid}/task/${tid}/status`, "utf8"));
    } catch { /* the thread ended meanwhile */ }
  }
  return {
    at: performance.now(),
    rssKiB: statusKiB(status, "VmRSS"), hwmKiB: statusKiB(status, "VmHWM"),
    anonKiB: statusKiB(status, "RssAnon"), fileKiB: statusKiB(status, "RssFile"),
    cpuSeconds: ticks / CLK_TCK, switches, mainSwitches: ctxt(status), // /proc/<pid>/status: the main thread's
  };
}

/** One process over an idle window: memory at its end and over it, CPU and wake-ups over it. */
export interface IdleFigures {
  rssMiB: number;
  /** The highest RSS the process ever had (start-up and the bundle's apply included). */
  hwmMiB: number;
  anonMiB: number;
  fileMiB: number;
  /** The mean and the largest RSS of the samples over the window (once a second). */
  windowMeanRssMiB: number;
  windowMaxRssMiB: number;
  /** CPU time over the window as a share of one core. */
  cpuPercent: number;
  wakeupsPerSecond: number;
  mainWakeupsPerSecond: number;
}

export function idleFigures(samples: ProcSample[]): IdleFigures {
  const first = samples[0], last = samples.at(-1);
  if (!first || !last || last === first) throw new Error("need at least two samples of a window");
  const seconds = (last.at - first.at) / 1000;
  const mib = (kib: number) => kib / 1024;
  return {
    rssMiB: mib(last.rssKiB), hwmMiB: mib(last.hwmKiB), anonMiB: mib(last.anonKiB), fileMiB: mib(last.fileKiB),
    windowMeanRssMiB: mib(samples.reduce((a, s) => a + s.rssKiB, 0) / samples.length),
    windowMaxRssMiB: mib(Math.max(...samples.map((s) => s.rssKiB))),
    cpuPercent: ((last.cpuSeconds - first.cpuSeconds) / seconds) * 100,
    wakeupsPerSecond: (last.switches - first.switches) / seconds,
    mainWakeupsPerSecond: (last.mainSwitches - first.mainSwitches) / seconds,
  };
}

/** Resident KiB per mapping name in /proc/<pid>/smaps ("[heap]", "[anon]", a file path), largest first. */
export function residentByMapping(pid: number): { name: string; kib: number }[] {
  const by = new Map<string, number>();
  let name = "";
  for (const line of readFileSync(`/proc/${pid}/smaps`, "utf8").split("\n")) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) { name = head[1] || "[anon]"; continue; }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) by.set(name, (by.get(name) ?? 0) + Number(rss[1]));
  }
  return [...by].map(([n, kib]) => ({ name: n, kib })).sort((a, b) => b.kib - a.kib);
}
