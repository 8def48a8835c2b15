#!/usr/bin/env node
// The site agent for production: the bundle `pnpm build` writes, run by plain node (no tsx, no
// TypeScript loader in the process). Flags: those of `outpost agent start` (see agent/README.md).
import { existsSync } from "node:fs";

const bundle = new URL("../agent/dist/outpost-agent.mjs", import.meta.url);
if (!existsSync(bundle)) {
  console.error(`outpost-agent: ${bundle.pathname} is missing: run \`pnpm build\` in ${new URL("..", import.meta.url).pathname} first`);
  process.exit(1);
}
await import(bundle.href);
