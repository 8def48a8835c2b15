import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { startTestHub, tempDir, type TestHub } from "../test-support/harness.ts";

/** The real `outpost` CLI process against a real hub, as an operator shipping an image would use it. */
const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../bin/outpost.js");

let t: TestHub;
let work: string;
beforeAll(async () => {
  t = await startTestHub();
  work = tempDir("outpost-cli-artifact-");
});
afterAll(async () => {
  await t.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

function outpost(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: { ...process.env, OUTPOST_HUB_URL: t.hub.url, OUTPOST_TOKEN: t.hub.adminToken! } },
      (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }));
  });
}
function file(name: string, bytes: Buffer): string {
  const p = path.join(work, name);
  fs.writeFileSync(p, bytes);
  return p;
}
const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

describe("outpost artifact", () => {
  it("upload prints the artifacts[] entry for a release file, with progress on stderr, and the release takes it as is", async () => {
    const bytes = randomBytes(5 * 1024 * 1024);
    const up = await outpost("artifact", "upload", file("image.tar.xz", bytes), "--name", "debian-12");
    expect(up.code, up.stderr).toBe(0);
    const expected = { name: "debian-12", sha256: sha(bytes), size: bytes.length, url: `/agent/v1/artifacts/${sha(bytes)}` };
    expect(parseYaml(up.stdout)).toEqual({ artifacts: [expected] });
    expect(up.stdout).toContain("image: { artifact: debian-12 }");
    expect(up.stderr).toMatch(/uploading .*image\.tar\.xz: 100% \(5\.0 MiB of 5\.0 MiB\)/);
    expect(up.stdout).not.toContain("%");
    expect(fs.readFileSync(path.join(t.dir, "artifacts", sha(bytes))).equals(bytes)).toBe(true);

    // Pasted under a release, as printed.
    const release = `name: store\nversion: "1"\nspec:\n  lxd:\n    instances:\n      - name: pos\n        image: { artifact: debian-12 }\n${up.stdout}`;
    const created = await outpost("release", "create", "-f", file("release.yaml", Buffer.from(release)));
    expect(created.code, created.stderr).toBe(0);
    expect((await t.op.listReleases()).find((r) => r.name === "store")?.artifacts).toEqual([expected]);
  });

  it("--json prints the artifact object; list shows what is stored", async () => {
    const bytes = randomBytes(1024 * 1024);
    const up = await outpost("--json", "artifact", "upload", file("small.img", bytes), "--name", "tools");
    expect(up.code, up.stderr).toBe(0);
    expect(JSON.parse(up.stdout)).toEqual({ name: "tools", sha256: sha(bytes), size: bytes.length, url: `/agent/v1/artifacts/${sha(bytes)}` });
    expect(up.stderr).toBe(""); // under the progress threshold: quiet

    const list = await outpost("artifact", "list");
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(new RegExp(`tools\\s+${sha(bytes)}\\s+1\\.0 MiB`));
    const json = await outpost("--json", "artifact", "list");
    expect((JSON.parse(json.stdout) as { sha256: string; names: string[] }[]).find((a) => a.sha256 === sha(bytes))?.names).toEqual(["tools"]);
  });

  it("a bad name or a missing file fails with a message naming the problem, and stores nothing", async () => {
    const before = fs.readdirSync(path.join(t.dir, "artifacts")).sort();
    const bad = await outpost("artifact", "upload", file("x.img", randomBytes(1000)), "--name", "no spaces allowed");
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/error: invalid query: name: must be .*\[VALIDATION, HTTP 400\]/);
    const missing = await outpost("artifact", "upload", path.join(work, "nope.img"), "--name", "x");
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`cannot read ${path.join(work, "nope.img")}: ENOENT`);
    const mismatch = await outpost("artifact", "upload", file("y.img", randomBytes(1000)), "--name", "y", "--sha256", "0".repeat(64));
    expect(mismatch.code).toBe(1);
    expect(mismatch.stderr).toContain("DIGEST_MISMATCH");
    expect(fs.readdirSync(path.join(t.dir, "artifacts")).sort()).toEqual(before);
  });
});
