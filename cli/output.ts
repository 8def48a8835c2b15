/** Human output by default, JSON for scripts: every command prints through here. */
export interface OutputOptions { json?: boolean }

export function print(opts: OutputOptions, data: unknown, human: () => string): void {
  process.stdout.write(opts.json ? JSON.stringify(data, null, 2) + "\n" : human() + "\n");
}

/** A plain aligned table; wide enough for a terminal, no dependency needed for five columns. */
export function table(headers: string[], rows: (string | number | null | undefined)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map((c) => (c === null || c === undefined || c === "" ? "-" : String(c))))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  return cells.map((r) => r.map((c, i) => (c ?? "").padEnd(widths[i]!)).join("  ").trimEnd()).join("\n");
}

export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return "never";
  const s = Math.round((now - Date.parse(iso)) / 1000);
  if (s < 0) return "just now";
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86400)}d ago`;
}

/** `k=v` pairs from the command line into a label map; `k-` (kubectl style) means remove. */
export function parseLabelArgs(args: string[]): { set: Record<string, string>; remove: string[] } {
  const set: Record<string, string> = {}; const remove: string[] = [];
  for (const a of args) {
    if (a.endsWith("-") && !a.includes("=")) { remove.push(a.slice(0, -1)); continue; }
    const i = a.indexOf("=");
    if (i <= 0) throw new Error(`label '${a}' must be key=value (or key- to remove)`);
    set[a.slice(0, i)] = a.slice(i + 1);
  }
  return { set, remove };
}
