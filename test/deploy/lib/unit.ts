// A systemd unit file read into sections of key -> values (pure). Enough for the tests to take ExecStart
// and EnvironmentFile from the real unit; systemd-analyze judges the syntax (lib/systemd.ts).
export type Unit = Record<string, Record<string, string[]>>;

export function readUnit(text: string): Unit {
  const unit: Unit = {};
  let section: Record<string, string[]> | undefined;
  for (const raw of text.replace(/\\\n/g, " ").split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#") || line.startsWith(";")) continue;
    const head = /^\[(.+)\]$/.exec(line);
    if (head) { section = unit[head[1]!] ??= {}; continue; }
    const eq = line.indexOf("=");
    if (!section || eq < 0) throw new Error(`not a unit file line: ${line}`);
    (section[line.slice(0, eq).trim()] ??= []).push(line.slice(eq + 1).trim());
  }
  return unit;
}

/** `KEY=value` lines of an EnvironmentFile (no quoting: the deploy files use none, and a test checks that). */
export function readEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const m = /^([A-Z_][A-Z0-9_]*)=([^"'`$\\\s]*)$/.exec(line);
    if (!m) throw new Error(`environment file line this reader (and plain systemd) may read differently: ${line}`);
    env[m[1]!] = m[2]!;
  }
  return env;
}
