// systemd-analyze on unit files, without a running systemd (this machine has none as PID 1). `verify`
// exits 0 on an unknown or misspelt directive (it only prints "Unknown key ... ignoring"), so a unit
// counts as valid only when verify exits 0 AND prints nothing. `security --offline` scores the hardening.
import { mkdirSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { runStatus } from "../../daemons/util.ts";
import { tempDir } from "../../lib/processes.ts";

/** Copies a unit (and, optionally, drop-ins) into a fresh dir the way systemd would find them. */
export function unitDir(unitFile: string, unitText: string, dropIns: Record<string, string> = {}): string {
  const dir = tempDir("deploy-units");
  writeFileSync(join(dir, basename(unitFile)), unitText);
  if (Object.keys(dropIns).length) {
    mkdirSync(join(dir, `${basename(unitFile)}.d`));
    for (const [name, text] of Object.entries(dropIns)) writeFileSync(join(dir, `${basename(unitFile)}.d`, name), text);
  }
  return dir;
}

export async function verify(dir: string, unit: string): Promise<{ ok: boolean; output: string }> {
  // The unit dir goes first on the search path (trailing ':' keeps the system's), so its drop-ins apply.
  const r = await runStatus("systemd-analyze", ["verify", join(dir, unit)], { env: { SYSTEMD_UNIT_PATH: `${dir}:`, SYSTEMD_LOG_COLOR: "0" } });
  const output = `${r.stdout}${r.stderr}`.trim();
  return { ok: r.code === 0 && output === "", output };
}

/** The "Overall exposure level" systemd-analyze gives the unit (0 = locked down, 10 = fully exposed). */
export async function exposure(dir: string, unit: string): Promise<number> {
  const r = await runStatus("systemd-analyze", ["security", "--offline=yes", "--no-pager", join(dir, unit)], { env: { SYSTEMD_UNIT_PATH: `${dir}:`, SYSTEMD_COLORS: "0" } });
  const m = /Overall exposure level for \S+: (\d+(?:\.\d+)?)/.exec(r.stdout);
  if (!m) throw new Error(`systemd-analyze security printed no exposure level (exit ${r.code}):\n${r.stdout}${r.stderr}`);
  return Number(m[1]);
}

