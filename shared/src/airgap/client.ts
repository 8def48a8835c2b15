import { z } from "zod";
import { AgentRoutes } from "../protocol/agent.ts";
import { TrustBundle } from "../trust/documents.ts";
import { errorFrom, joinUrl, request } from "../client/http.ts";
import { AirgapRoutes, ReportsImportResponse, SiteBundleResponse } from "./routes.ts";
import type { ReportsFile } from "./reports-file.ts";

/**
 * The operator-side calls `outpost bundle export` and `outpost reports import` make. Kept apart from
 * OperatorClient so the air-gap feature stays in its own folder.
 */
export class AirgapClient {
  constructor(readonly baseUrl: string, private readonly token: string, private readonly opts: { project?: string } = {}) {}

  private async fetch(path: string, init: RequestInit = {}): Promise<Response> {
    const res = await request(joinUrl(this.baseUrl, path), {
      ...init,
      headers: {
        authorization: `Bearer ${this.token}`,
        // The project the operator acts in, on hubs that scope operator requests to one.
        ...(this.opts.project ? { "x-outpost-project": this.opts.project } : {}),
        ...(init.headers as Record<string, string> | undefined),
      },
    });
    if (!res.ok) throw await errorFrom(res);
    return res;
  }

  private async json<T>(path: string, schema: z.ZodType<T>, init?: RequestInit): Promise<T> {
    return schema.parse(await (await this.fetch(path, init)).json());
  }

  siteBundle(site: string) { return this.json(AirgapRoutes.siteBundle(site), SiteBundleResponse); }
  /** The public trust documents, exactly what agents fetch (no token needed, sent anyway). */
  trust() { return this.json(AgentRoutes.keys, TrustBundle); }
  /** The artifact's bytes as a stream; the caller checks digest and size against the bundle. */
  async artifact(sha256: string): Promise<ReadableStream<Uint8Array>> {
    const res = await this.fetch(AirgapRoutes.artifact(sha256));
    if (!res.body) throw new Error(`the hub sent no body for artifact ${sha256}`);
    return res.body;
  }
  importReports(file: ReportsFile) {
    return this.json(AirgapRoutes.reportsImport, ReportsImportResponse, {
      method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(file),
    });
  }
}
