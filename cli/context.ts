import { OperatorClient, HubError } from "@outpost/shared";

export const DEFAULT_HUB_URL = "http://127.0.0.1:7800";

export interface GlobalOptions { hub?: string; token?: string; project?: string; json?: boolean }

/** The operator client from --hub/--token/--project or OUTPOST_HUB_URL/OUTPOST_TOKEN/OUTPOST_PROJECT, with a helpful error when the token is missing. */
export function operatorClient(opts: GlobalOptions): OperatorClient {
  const hub = opts.hub ?? process.env.OUTPOST_HUB_URL ?? DEFAULT_HUB_URL;
  const token = opts.token ?? process.env.OUTPOST_TOKEN;
  if (!token) throw new Error("no API token: pass --token or set OUTPOST_TOKEN (the admin token is printed when the hub first starts)");
  return new OperatorClient(hub, token, { project: opts.project ?? process.env.OUTPOST_PROJECT });
}

/** Turns any failure into one line a person can act on, and a non-zero exit. */
export function describeError(e: unknown): string {
  if (e instanceof HubError) {
    const issues = e.issues?.map((i) => `\n  - ${i.path || "(body)"}: ${i.message}`).join("") ?? "";
    return `error: ${e.message} [${e.code}${e.status ? `, HTTP ${e.status}` : ""}]${issues}`;
  }
  return `error: ${(e as Error).message ?? String(e)}`;
}
