import http from "node:http";
import type { AddressInfo } from "node:net";

/** What the hub was asked and answered, as seen on the wire between the agent and the hub. */
export interface Seen { path: string; range: string | null; status: number; contentRange: string | null }

/**
 * TEST HELPER: a transparent HTTP relay between an agent and the real hub, the way a site's uplink
 * sits in between. It records every request's Range and the hub's answer, and can make the next
 * artifact download stall after N bytes (a link that goes quiet): the agent then holds exactly N
 * bytes until the test aborts it or the hub goes away (which the relay passes on as a cut).
 */
export class Relay {
  readonly seen: Seen[] = [];
  url = "";
  #stallNext: number | null = null;
  readonly #server: http.Server;

  constructor(private readonly upstream: () => string) {
    this.#server = http.createServer((req, res) => this.#forward(req, res));
  }

  async start(): Promise<this> {
    await new Promise<void>((r) => this.#server.listen(0, "127.0.0.1", r));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this;
  }

  /** The next artifact download passes only its first `bytes` body bytes, then goes quiet. */
  stallNextDownloadAfter(bytes: number): void { this.#stallNext = bytes; }

  downloads(): Seen[] { return this.seen.filter((s) => s.path.startsWith("/agent/v1/artifacts/")); }

  #forward(req: http.IncomingMessage, res: http.ServerResponse): void {
    const target = new URL(req.url ?? "/", this.upstream());
    const isDownload = target.pathname.startsWith("/agent/v1/artifacts/");
    const stallAt = isDownload ? this.#stallNext : null;
    if (isDownload) this.#stallNext = null;
    // A stalled answer gets its own keep-alive connection: it stays open after the hub has sent
    // everything, so the relay notices when the hub goes away and can cut the agent off then.
    const agent = stallAt === null ? undefined : new http.Agent({ keepAlive: true });
    const up = http.request(target, { method: req.method, headers: { ...req.headers, host: target.host }, agent }, (upRes) => {
      this.seen.push({
        path: target.pathname, range: (req.headers.range as string | undefined) ?? null, status: upRes.statusCode ?? 0,
        contentRange: (upRes.headers["content-range"] as string | undefined) ?? null,
      });
      res.writeHead(upRes.statusCode ?? 502, upRes.headers);
      if (stallAt === null) {
        upRes.pipe(res);
        // The hub went away mid-answer: pass the cut on instead of ending the answer cleanly.
        upRes.on("close", () => { if (!upRes.complete) res.destroy(); });
        return;
      }
      let sent = 0;
      upRes.on("data", (chunk: Buffer) => {
        const room = stallAt - sent;
        if (room > 0) { res.write(chunk.subarray(0, room)); sent += Math.min(room, chunk.length); }
        // Past the stall point the hub's bytes are dropped: the agent sees a link gone quiet.
      });
      const socket = upRes.socket; // held: the response lets go of it once complete
      socket.once("close", () => res.destroy());
      res.once("close", () => { socket.destroy(); agent!.destroy(); });
    });
    up.on("error", () => res.destroy());
    res.on("close", () => { if (!res.writableFinished) up.destroy(); });
    req.pipe(up);
  }

  close(): Promise<void> {
    this.#server.closeAllConnections();
    return new Promise((r) => this.#server.close(() => r()));
  }
}
