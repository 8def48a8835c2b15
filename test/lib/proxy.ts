import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { decodeJwt } from "jose";

export interface Exchange { site: string | null; path: string; status: number; headers: Headers; body: string }
/** Return a replacement answer to forge, or undefined to pass the hub's answer through untouched. */
export type Rewrite = (x: Exchange) => { status: number; body: string; headers?: Record<string, string> } | undefined;

/**
 * A man in the middle between agents and the hub, as an attacker on the site's uplink (or a
 * compromised CDN) would be: it sees every answer and may replace any of them.
 */
export class TamperingProxy {
  private server: Server;
  rewrite: Rewrite = () => undefined;
  /** Every bundle the hub served, per site, as captured in transit. */
  readonly captured = new Map<string, string[]>();
  /** Every bearer token that passed (agents' request JWTs): what an eavesdropper would hold. */
  readonly bearers = new Set<string>();
  url = "";

  constructor(private readonly upstream: () => string) {
    this.server = createServer((req, res) => {
      this.forward(req).then(({ status, headers, body }) => {
        res.writeHead(status, headers);
        res.end(body);
      }, (e: Error) => { res.writeHead(502, { "content-type": "application/json" }); res.end(JSON.stringify({ error: { code: "PROXY", message: e.message } })); });
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  private async forward(req: IncomingMessage) {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const headers = new Headers();
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string" && k !== "host" && k !== "connection") headers.set(k, v);
    const res = await fetch(this.upstream() + req.url, { method: req.method, headers, body: chunks.length ? Buffer.concat(chunks) : undefined });
    const body = await res.text();
    const auth = req.headers.authorization?.replace(/^Bearer /, "");
    if (auth) this.bearers.add(auth);
    let site: string | null = null;
    try { site = auth ? (decodeJwt(auth).iss as string) : null; } catch { /* not an agent call */ }
    const path = (req.url ?? "").split("?")[0]!;
    if (site && path === "/agent/v1/bundle" && res.status === 200) this.captured.set(site, [...(this.captured.get(site) ?? []), body]);
    const out: Record<string, string> = {};
    res.headers.forEach((v, k) => { if (k !== "content-length" && k !== "transfer-encoding" && k !== "content-encoding") out[k] = v; });
    const forged = this.rewrite({ site, path, status: res.status, headers: res.headers, body });
    if (forged) return { status: forged.status, headers: { ...out, ...(forged.headers ?? {}) }, body: forged.body };
    return { status: res.status, headers: out, body };
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }
}

/** Flips one character inside the payload part of a compact JWS, keeping it well-formed base64url. */
export function tamperPayload(jws: string): string {
  const [h, p, s] = jws.split(".") as [string, string, string];
  const payload = JSON.parse(Buffer.from(p, "base64url").toString("utf8"));
  payload.spec.lxd.instances = [];
  return `${h}.${Buffer.from(JSON.stringify(payload)).toString("base64url")}.${s}`;
}
