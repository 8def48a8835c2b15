// The host driver against the machine's real dpkg and apt, with a local repository this file builds
// (test/fixtures/apt/repo.ts): package outpost-test-pkg in versions 1.0 .. 1.3, a "main" and a
// "security" flat repository. The driver is given apt options that show it only these repositories,
// so it never refreshes or upgrades anything of the machine's own. The tests run in order, as one
// site's history; cleanup purges the package and removes the sources and their lists.
import { convergeOnce } from "../converge.test-support.ts";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Spec, type SpecInput } from "@outpost/shared";
import { createTestAptRepo, type TestAptRepo } from "../../../../test/fixtures/apt/repo.ts";
import { run } from "../../../../test/daemons/util.ts";
import { orderSteps } from "../../reconcile/order.ts";
import type { Driver, Step } from "../types.ts";
import { createHostDriver } from "./driver.ts";

const PKG = "outpost-test-pkg";
let repo: TestAptRepo;
let driver: ReturnType<typeof createHostDriver>;

beforeAll(async () => {
  repo = await createTestAptRepo(PKG);
  await run("dpkg", ["--purge", PKG]); // a previous run killed before its cleanup
  await repo.publish("main", "1.0");
  await repo.update();
  driver = createHostDriver({ aptOptions: repo.aptOptions, refreshListsEveryMs: 0 });
}, 300_000);
afterAll(async () => { await repo?.cleanup(); });

const spec = (host: NonNullable<SpecInput["host"]>) => Spec.parse({ host });
const pin = (version: string, disruptive = false) => spec({ packages: [{ name: PKG, version, disruptive }] });
/** What is on the machine, asked of dpkg and of the file the package installs. */
async function installed(): Promise<{ dpkg: string; file: string } | undefined> {
  const r = await run("dpkg-query", ["-W", "-f", "${Version} ${db:Status-Abbrev}", PKG]).catch(() => undefined);
  if (!r || !r.stdout.includes("ii")) return undefined;
  return { dpkg: r.stdout.split(" ")[0]!, file: readFileSync(`/usr/share/${PKG}/VERSION`, "utf8").trim() };
}

describe("host driver (real apt and dpkg, local repository)", () => {
  it("installs the pinned version; a second pass plans nothing", async () => {
    expect(await installed()).toBeUndefined();
    const { steps, failed } = await convergeOnce(driver, pin("1.0"));
    expect(failed).toEqual([]);
    expect(steps.map((s) => s.id)).toEqual([`host/host.package/${PKG}/create`]);
    expect(await installed()).toEqual({ dpkg: "1.0", file: "1.0" });
    expect(driver.plan(pin("1.0"), await driver.observe())).toEqual([]);
  });

  it("drift: a newer version installed by hand (dpkg -i 1.1) is taken back to the pinned 1.0", async () => {
    await run("dpkg", ["-i", await repo.buildDeb("1.1")]);
    expect(await installed()).toEqual({ dpkg: "1.1", file: "1.1" });
    const { steps, failed } = await convergeOnce(driver, pin("1.0"));
    expect(failed).toEqual([]);
    expect(steps).toEqual([expect.objectContaining({ id: `host/host.package/${PKG}/update`, before: { version: "1.1" }, after: { version: "1.0" } })]);
    expect(await installed()).toEqual({ dpkg: "1.0", file: "1.0" });
  });

  it("spec moves to 1.1, which apt's lists do not know yet: the driver runs apt-get update, then upgrades", async () => {
    await repo.publish("main", "1.1"); // in the repository, not yet in apt's lists
    expect((await run("apt-cache", [...repo.aptOptions, "madison", PKG])).stdout).not.toContain("1.1");
    const { steps, failed } = await convergeOnce(driver, pin("1.1"));
    expect(failed).toEqual([]);
    expect(steps.map((s) => s.id)).toEqual([`host/host.package/${PKG}/update`]);
    expect(await installed()).toEqual({ dpkg: "1.1", file: "1.1" });
    expect(driver.plan(pin("1.1"), await driver.observe())).toEqual([]);
  });

  it("a version no source offers fails with a message that says so, and changes nothing", async () => {
    const { failed } = await convergeOnce(driver, pin("9.9"));
    expect(failed).toEqual([{ id: `host/host.package/${PKG}/update`, error: `${PKG} 9.9 is not offered by any configured apt source (offered: 1.1, 1.0)` }]);
    expect(await installed()).toEqual({ dpkg: "1.1", file: "1.1" });
  });

  it("a package the spec marks disruptive plans a disruptive step", async () => {
    const steps = driver.plan(pin("1.0", true), await driver.observe());
    expect(steps).toEqual([expect.objectContaining({ id: `host/host.package/${PKG}/update`, disruptive: true })]);
    expect(driver.plan(pin("1.0"), await driver.observe())[0]?.disruptive).toBeUndefined();
  });

  it("security updates from a local repository labelled as a security archive: a pin wins; unpinned, exactly the security version is installed", async () => {
    await repo.publish("security", "1.2");
    await repo.update();
    // Pinned to 1.1: the spec's explicit version wins, nothing to do.
    const pinnedAndSecure = spec({ packages: [{ name: PKG, version: "1.1" }], securityUpdates: { enabled: true } });
    expect(driver.plan(pinnedAndSecure, await driver.observe())).toEqual([]);
    // Not pinned any more: one (disruptive by default) step upgrading to the security version.
    const secure = spec({ securityUpdates: { enabled: true } });
    const { steps, failed } = await convergeOnce(driver, secure);
    expect(failed).toEqual([]);
    expect(steps).toEqual([expect.objectContaining({ id: "host/host.security-updates/unattended-upgrades/update", disruptive: true, before: { enabled: true, pending: [`${PKG}=1.2`] } })]);
    expect(await installed()).toEqual({ dpkg: "1.2", file: "1.2" });
    expect(driver.plan(secure, await driver.observe())).toEqual([]);
    expect(driver.metrics!(await driver.observe())["host.security.pending"]).toBe(0);
  });

  it("a newer version from an ordinary archive is not a security update; dropping the package from the spec never removes it", async () => {
    await repo.publish("main", "1.3");
    await repo.update();
    expect(driver.plan(spec({ securityUpdates: { enabled: true } }), await driver.observe())).toEqual([]);
    expect(driver.plan(spec({}), await driver.observe())).toEqual([]);
    expect(await installed()).toEqual({ dpkg: "1.2", file: "1.2" });
  });
});
