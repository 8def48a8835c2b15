/**
 * `pnpm build`: the site agent bundled for plain node (agent/dist/outpost-agent.mjs, run by
 * bin/outpost-agent.js), so a production agent carries neither tsx nor esbuild nor TypeScript's
 * transpiled-on-load copies of its sources (agent/README.md "Footprint" has the figures).
 * Code split: what only some sites use (the MQTT client, each real driver) is a chunk of its own,
 * read only by an agent that imports it. Only native modules stay outside the bundle; they load
 * from agent/node_modules at run time. The output is never committed (.gitignore); the test setup
 * builds it before every run.
 */
import { renameSync, rmSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { build, type Plugin } from "esbuild";

const REPO = resolve(import.meta.dirname);
export const AGENT_ENTRY = join(REPO, "agent/src/run.ts");
export const AGENT_DIST = join(REPO, "agent/dist");
export const AGENT_BUNDLE = join(AGENT_DIST, "outpost-agent.mjs");

/** Native bindings (a .node file found at run time): bundling them cannot work. */
const NATIVE = ["better-sqlite3"];

/**
 * @outpost/shared's modules only declare values (zod schemas, functions): the bundle may leave out
 * those the agent never reads (the operator API's schemas, ~1 MB of an idle agent's heap).
 */
const sharedHasNoSideEffects: Plugin = {
  name: "shared-has-no-side-effects",
  setup(b) {
    const shared = join(REPO, "shared/src") + "/";
    b.onResolve({ filter: /.*/ }, async (args) => {
      if (args.pluginData === "resolved") return undefined;
      const r = await b.resolve(args.path, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: "resolved" });
      return r.path.startsWith(shared) ? { ...r, sideEffects: false } : undefined;
    });
  },
};

/**
 * Builds into a fresh directory and swaps it in with renames, so a concurrent build never mixes
 * chunks of two builds and a starting agent finds a whole bundle. Returns the entry's size.
 */
export async function buildAgent(): Promise<{ file: string; bytes: number }> {
  const tmp = `${AGENT_DIST}.${process.pid}.tmp`;
  const old = `${AGENT_DIST}.${process.pid}.old`;
  rmSync(tmp, { recursive: true, force: true });
  await build({
    entryPoints: { "outpost-agent": AGENT_ENTRY },
    bundle: true,
    splitting: true,
    platform: "node",
    format: "esm",
    target: "node20",
    external: NATIVE,
    plugins: [sharedHasNoSideEffects],
    outdir: tmp,
    outExtension: { ".js": ".mjs" },
    chunkNames: "chunks/[name]-[hash]",
    // No comments, no whitespace: V8 keeps every script's source in the heap for as long as the
    // process lives, and one non-Latin-1 character in a comment doubles it (UTF-16). Names are kept,
    // so stack traces stay readable.
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: "none",
    logLevel: "warning",
    // CommonJS dependencies bundled into an ES module still call require() for node built-ins.
    banner: { js: 'import { createRequire as __outpostRequire } from "node:module"; const require = __outpostRequire(import.meta.url);' },
  });
  try { renameSync(AGENT_DIST, old); } catch (e) { if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e; }
  renameSync(tmp, AGENT_DIST);
  rmSync(old, { recursive: true, force: true });
  return { file: AGENT_BUNDLE, bytes: statSync(AGENT_BUNDLE).size };
}

if (import.meta.filename === process.argv[1]) {
  const { file, bytes } = await buildAgent();
  console.log(`built ${file.slice(REPO.length + 1)} (${(bytes / 1e6).toFixed(2)} MB) and its chunks in ${dirname(file).slice(REPO.length + 1)}/chunks`);
}
