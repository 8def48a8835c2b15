/**
 * Readers for what dpkg and apt print. Pure: strings in, data out.
 */

/** dpkg's view of one package: `dpkg-query -W -f '${Package}\t${Version}\t${db:Status-Abbrev}\n'`. */
export interface DpkgEntry {
  name: string;
  version: string;
  /**
   * "installed" (including the transient trigger states, where the package works), or the dpkg
   * state of a package left half-way by a failed or interrupted run ("half-configured",
   * "unpacked", "half-installed", "reinst-required"), which the next install step repairs.
   */
  state: "installed" | "half-configured" | "unpacked" | "half-installed" | "reinst-required";
}

const STATUS: Record<string, DpkgEntry["state"] | undefined> = {
  i: "installed", W: "installed", t: "installed", // triggers-awaited / -pending: installed and usable
  F: "half-configured", U: "unpacked", H: "half-installed",
  // n (not-installed) and c (config-files: removed, conffiles left) are not installed at all.
};

/**
 * Parses the dpkg-query lines. `db:Status-Abbrev` is three letters: wanted, status, error flag
 * ("ii ", "rc ", "iF ", "iiR"). Packages that are not installed are left out. With several
 * architectures of one package (multiarch), the first installed entry counts.
 */
export function parseDpkgQuery(stdout: string): Map<string, DpkgEntry> {
  const out = new Map<string, DpkgEntry>();
  for (const line of stdout.split("\n")) {
    const [name, version, abbrev] = line.split("\t");
    if (!name || !version || !abbrev) continue;
    let state = STATUS[abbrev[1] ?? ""];
    if (!state) continue;
    if (abbrev[2] === "R") state = "reinst-required";
    const seen = out.get(name);
    if (!seen || (seen.state !== "installed" && state === "installed")) out.set(name, { name, version, state });
  }
  return out;
}

/** `apt-cache madison <pkg>`: the versions apt's sources offer (" pkg | 1.0-1 | http://... Packages"). */
export function parseMadison(stdout: string, pkg: string): string[] {
  const versions: string[] = [];
  for (const line of stdout.split("\n")) {
    const [name, version] = line.split("|").map((s) => s.trim());
    if (name === pkg && version && !versions.includes(version)) versions.push(version);
  }
  return versions;
}

/** One upgrade apt would make: `Inst openssl [3.0.11-1] (3.0.13-1 Debian:12.5/stable, Debian-Security:12/stable-security [amd64])`. */
export interface PlannedUpgrade {
  name: string;
  from: string;
  to: string;
  /** apt's release strings the new version comes from: "Label:Version/Archive" (Version may be absent). */
  releases: string[];
}

const INST = /^Inst (\S+) \[([^\]]*)\] \((\S+) (.+?) \[[^\]]*\]\)/;

/**
 * The upgrades in `apt-get -s dist-upgrade` output. Lines without an installed version ("Inst pkg
 * (1.0 ...)") are new packages pulled in as dependencies, not upgrades, and are left out: apt pulls
 * them again by itself when the upgrade is made.
 */
export function parseSimulatedUpgrades(stdout: string): PlannedUpgrade[] {
  const out: PlannedUpgrade[] = [];
  for (const line of stdout.split("\n")) {
    const m = INST.exec(line);
    if (m) out.push({ name: m[1]!, from: m[2]!, to: m[3]!, releases: m[4]!.split(", ").map((s) => s.trim()) });
  }
  return out;
}

/**
 * Is a release string a security archive? Debian labels its security archive "Debian-Security"
 * with archives "<suite>-security"; Ubuntu has label "Ubuntu" and archive "<codename>-security".
 * Both conventions are accepted: a label containing "security", or an archive ending in "-security".
 */
export function isSecurityRelease(release: string): boolean {
  const colon = release.indexOf(":");
  const label = colon >= 0 ? release.slice(0, colon) : "";
  const rest = colon >= 0 ? release.slice(colon + 1) : release;
  const archive = rest.slice(rest.lastIndexOf("/") + 1);
  return /security/i.test(label) || /-security$/i.test(archive);
}

/** The upgrades whose new version comes (also) from a security archive, as "name=version", sorted. */
export function pendingSecurityUpgrades(upgrades: readonly PlannedUpgrade[]): string[] {
  return upgrades.filter((u) => u.releases.some(isSecurityRelease)).map((u) => `${u.name}=${u.to}`).sort();
}
