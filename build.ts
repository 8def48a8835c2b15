/**
 * `pnpm build`: the site agent as one ES module for plain node (agent/dist/outpost-agent.mjs, run by
 * bin/outpost-agent.js), so a production agent carries neither tsx nor esbuild nor TypeScript's
 * transpiled-on-load copies of its sources (about 50 MB of RSS, see agent/README.md "Footprint").
 * Only native modules stay outside the bundle: they are loaded from agent/node_modules at run time.
 * The output is never committed (.gitignore); the test setup builds it before every run.
 */
import { mkdirSync, renameSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { build } from "esbuild";

const REPO = resolve(import.meta.dirname);
export const AGENT_ENTRY = join(REPO, "agent/src/run.ts");
export const AGENT_BUNDLE = join(REPO, "agent/dist/outpost-agent.mjs");

/** Native bindings (a .node file found at run time): bundling them cannot work. */
const NATIVE = ["@libsql/client"];

/**
 * Builds the bundle and swaps it in with one rename, so a concurrent build or a starting agent never
 * sees half a file. Returns its size.
 */
export async function buildAgent(): Promise<{ file: string; bytes: number }> {
  mkdirSync(dirname(AGENT_BUNDLE), { recursive: true });
  const r = await build({
    entryPoints: [AGENT_ENTRY],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    external: NATIVE,
    write: false,
    outfile: AGENT_BUNDLE,
    legalComments: "none",
    logLevel: "warning",
    // CommonJS dependencies bundled into an ES module still call require() for node built-ins.
    banner: { js: 'import { createRequire as __outpostRequire } from "node:module"; const require = __outpostRequire(import.meta.url);' },
  });
  const out = r.outputFiles[0]!;
  const tmp = `${AGENT_BUNDLE}.${process.pid}.tmp`;
  writeFileSync(tmp, out.contents);
  renameSync(tmp, AGENT_BUNDLE);
  return { file: AGENT_BUNDLE, bytes: statSync(AGENT_BUNDLE).size };
}

if (import.meta.filename === process.argv[1]) {
  const { file, bytes } = await buildAgent();
  console.log(`built ${file.slice(REPO.length + 1)} (${(bytes / 1e6).toFixed(1)} MB)`);
}
