import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Fleet } from "../lib/fleet.ts";
import { spawnOutpost, waitFor } from "../lib/processes.ts";

/** The `outpost` CLI as an operator uses it: real processes, real hub, human and JSON output. */
describe("outpost CLI against a running hub", () => {
  const fleet = new Fleet();
  beforeAll(() => fleet.startHub());
  afterAll(() => fleet.close());

  async function outpost(...args: string[]): Promise<{ code: number | null; out: string }> {
    const p = spawnOutpost("cli", ["--hub", fleet.url, "--token", fleet.adminToken, ...args]);
    await waitFor(`outpost ${args.join(" ")} to exit`, () => !p.alive, 30_000, 20);
    return { code: p.child.exitCode, out: p.text() };
  }

  it("creates a release from YAML, lists it, and refuses a bad one naming the field", async () => {
    const ok = await outpost("release", "create", "-f", "examples/store-1.0.yaml");
    expect(ok).toMatchObject({ code: 0 });
    expect(ok.out).toContain("created release store@1.0");

    const bad = join(fleet.dir, "bad.yaml");
    writeFileSync(bad, "name: store\nversion: '2.0'\nspec:\n  lxd:\n    instances:\n      - name: ../etc\n        image: { alias: x }\n");
    const r = await outpost("release", "create", "-f", bad);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/spec\.lxd\.instances\.0\.name/);

    const list = await outpost("--json", "release", "list");
    expect(JSON.parse(list.out).map((x: { name: string; version: string }) => `${x.name}@${x.version}`)).toEqual(["store@1.0"]);
  });

  it("explains a bad selector and a missing token instead of failing obscurely", async () => {
    const sel = await outpost("release", "assign", "store@1.0", "--selector", "region in (eu");
    expect(sel.code).toBe(1);
    expect(sel.out).toMatch(/region in \(eu/);

    const p = spawnOutpost("cli", ["--hub", fleet.url, "sites", "list"], { OUTPOST_TOKEN: "" });
    await waitFor("exit", () => !p.alive, 30_000, 20);
    expect(p.child.exitCode).toBe(1);
    expect(p.text()).toMatch(/no API token/);
  });

  it("creates an enrollment token that tells the site what to run", async () => {
    const t = await outpost("token", "create", "--label", "region=eu", "--uses", "2");
    expect(t.code).toBe(0);
    expect(t.out).toMatch(/^opt1\.[a-f0-9]{64}\./);
    expect(t.out).toContain("outpost agent start");
  });
});
