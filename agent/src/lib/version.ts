import pkg from "../../package.json" with { type: "json" };

/** The agent's version as reported to the hub: agent/package.json's, inlined by `pnpm build` into the bundle. */
export const AGENT_VERSION: string = pkg.version;
