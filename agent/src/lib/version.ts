import { readFileSync } from "node:fs";

/** The agent's version as reported to the hub, read from agent/package.json (no build step to inline it). */
export const AGENT_VERSION: string = (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version;
