import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { isSecurityRelease, parseDpkgQuery, parseMadison, parseSimulatedUpgrades, pendingSecurityUpgrades } from "./apt.ts";

describe("dpkg/apt output readers", () => {
  it("dpkg-query: installed packages only; half-installed ones keep their dpkg state", () => {
    const out = [
      "jq\t1.6-2.1\tii ",
      "apt-utils\t\tun ",
      "old-tool\t1.0\trc ",
      "broken\t2.0\tiF ",
      "needs-reinst\t3.0\tiHR",
      "held\t4.0\thi ",
      "trig\t5.0\tit ",
      "",
    ].join("\n");
    expect([...parseDpkgQuery(out).values()]).toEqual([
      { name: "jq", version: "1.6-2.1", state: "installed" },
      { name: "broken", version: "2.0", state: "half-configured" },
      { name: "needs-reinst", version: "3.0", state: "reinst-required" },
      { name: "held", version: "4.0", state: "installed" },
      { name: "trig", version: "5.0", state: "installed" },
    ]);
  });

  it("dpkg-query: of two architectures of one package, the installed one counts", () => {
    expect(parseDpkgQuery("libfoo\t1.0\tiU \nlibfoo\t1.0\tii \n").get("libfoo")?.state).toBe("installed");
  });

  it("apt-cache madison: the offered versions of that package", () => {
    const out = "        jq | 1.6-2.1+deb12u3 | http://deb.debian.org/debian-security bookworm-security/main amd64 Packages\n"
      + "        jq | 1.6-2.1+deb12u2 | http://deb.debian.org/debian bookworm/main amd64 Packages\n"
      + "     jqx | 9 | file:/x ./ Packages\n";
    expect(parseMadison(out, "jq")).toEqual(["1.6-2.1+deb12u3", "1.6-2.1+deb12u2"]);
    expect(parseMadison("", "jq")).toEqual([]);
  });

  // Lines verbatim from `apt-get -s dist-upgrade` on Debian 12 and on the test repository.
  const SIM = [
    "NOTE: This is only a simulation!",
    "Inst base-files [12.4+deb12u11] (12.4+deb12u15 Debian:12.15/oldstable [amd64])",
    "Inst libgcrypt20 [1.10.1-3] (1.10.1-3+deb12u1 Debian:12.15/oldstable, Debian-Security:12/oldstable-security [amd64])",
    "Inst liblzma-dev [5.4.1-1] (5.4.1-1+deb12u2 Debian-Security:12/oldstable-security [amd64]) []",
    "Inst linux-image-6.1.0-30-amd64 (6.1.124-1 Debian-Security:12/oldstable-security [amd64])",
    "Inst outpost-test-pkg [1.1] (1.2 Outpost-Security:outpost-test-security [all])",
    "Conf outpost-test-pkg (1.2 Outpost-Security:outpost-test-security [all])",
  ].join("\n");

  it("simulated upgrades: name, from, to and origins; new dependencies are not upgrades", () => {
    const ups = parseSimulatedUpgrades(SIM);
    expect(ups.map((u) => u.name)).toEqual(["base-files", "libgcrypt20", "liblzma-dev", "outpost-test-pkg"]);
    expect(ups[1]).toEqual({ name: "libgcrypt20", from: "1.10.1-3", to: "1.10.1-3+deb12u1", releases: ["Debian:12.15/oldstable", "Debian-Security:12/oldstable-security"] });
  });

  it("security upgrades: those offered (also) by a security archive, as name=version", () => {
    expect(pendingSecurityUpgrades(parseSimulatedUpgrades(SIM))).toEqual(["libgcrypt20=1.10.1-3+deb12u1", "liblzma-dev=5.4.1-1+deb12u2", "outpost-test-pkg=1.2"]);
  });

  it("security archives of Debian and Ubuntu are recognised; ordinary ones are not", () => {
    for (const r of ["Debian-Security:12/bookworm-security", "Ubuntu:22.04/jammy-security", "Outpost-Security:outpost-test-security", "12/stable-security"]) expect(isSecurityRelease(r)).toBe(true);
    for (const r of ["Debian:12.15/oldstable", "Ubuntu:22.04/jammy-updates", "Outpost:outpost-test", "Debian:12/bookworm-backports"]) expect(isSecurityRelease(r)).toBe(false);
  });

  it("property: parsing never throws and every parsed upgrade came from an Inst line", () => {
    fc.assert(fc.property(fc.array(fc.oneof(fc.string(), fc.constantFrom(...SIM.split("\n"))), { maxLength: 20 }), (lines) => {
      const ups = parseSimulatedUpgrades(lines.join("\n"));
      expect(ups.length).toBeLessThanOrEqual(lines.filter((l) => l.startsWith("Inst ")).length);
      parseDpkgQuery(lines.join("\n"));
    }));
  });
});
