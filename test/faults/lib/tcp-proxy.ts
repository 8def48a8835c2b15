import { createServer, connect, type Server, type Socket } from "node:net";
import type { AddressInfo } from "node:net";

/**
 * A TCP proxy a fault test puts between agents and the hub (its HTTP port, or a broker's MQTT port)
 * to play the uplink's failures, at the byte level, with no idea of what it carries:
 *
 * - `blackhole()`: the link drops every packet. Connections open at that moment and any opened
 *   meanwhile stay open on the agent's side and never carry a byte again, even after `pass()`
 *   (the uplink's NAT forgot them), so only the agent's own timeouts get it out.
 * - `refuse()`: nothing listens on the port any more (ECONNREFUSED); open connections are reset.
 * - `reset()`: open connections are reset, new ones work.
 * - `delayMs`: every chunk the hub sends arrives that much later (a slow hub or a congested link).
 * - `truncate`: the answer to a request whose request line matches is cut after the header and
 *   `keepBodyBytes` bytes of body, then both sides are closed (a connection dropped mid-answer).
 *
 * The port stays the same across `refuse()` / `pass()`, so agents keep their URL.
 */
export interface Truncation { match: RegExp; keepBodyBytes: number }

interface Pair { client: Socket; upstream: Socket | null; dead: boolean; lastRequest: string; cutDone: boolean; sent: number }

export class TcpProxy {
  private server: Server | null = null;
  private readonly pairs = new Set<Pair>();
  private mode: "pass" | "blackhole" | "refuse" = "pass";
  port = 0;
  delayMs = 0;
  truncate: Truncation | null = null;
  readonly stats = { connections: 0, blackholed: 0, reset: 0, truncated: 0 };

  constructor(private readonly target: () => { host?: string; port: number }) {}

  get url(): string { return `http://127.0.0.1:${this.port}`; }
  get state(): string { return this.mode; }

  async start(port = 0): Promise<this> {
    const server = createServer((client) => this.accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => { server.off("error", reject); resolve(); });
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    return this;
  }

  /** Back to a working link (listening again after `refuse()`); connections the blackhole took stay dead. */
  async pass(): Promise<void> {
    this.mode = "pass";
    if (!this.server) await this.start(this.port);
  }

  blackhole(): void {
    this.mode = "blackhole";
    for (const p of this.pairs) this.bury(p);
  }

  async refuse(): Promise<void> {
    this.mode = "refuse";
    const server = this.server;
    this.server = null;
    this.reset();
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }

  /** Resets every open connection (as a hub restart or a rebooted router does); new ones work as before. */
  reset(): void {
    for (const p of this.pairs) { p.client.resetAndDestroy(); p.upstream?.destroy(); this.stats.reset++; }
    this.pairs.clear();
  }

  close(): Promise<void> { return this.refuse(); }

  /** The hub half goes; the agent's half stays open, silent, and swallows whatever it is sent. */
  private bury(p: Pair): void {
    if (p.dead) return;
    p.dead = true;
    this.stats.blackholed++;
    p.upstream?.destroy();
    p.client.removeAllListeners("data");
    p.client.on("data", () => {});
  }

  private accept(client: Socket): void {
    this.stats.connections++;
    client.on("error", () => {});
    const p: Pair = { client, upstream: null, dead: false, lastRequest: "", cutDone: false, sent: 0 };
    this.pairs.add(p);
    client.on("close", () => { this.pairs.delete(p); p.upstream?.destroy(); });
    if (this.mode === "blackhole") { this.bury(p); return; }

    const t = this.target();
    const upstream = connect({ host: t.host ?? "127.0.0.1", port: t.port });
    p.upstream = upstream;
    upstream.on("error", () => {});
    upstream.on("close", () => { if (!p.dead) client.destroy(); });
    client.on("data", (chunk: Buffer) => {
      if (p.dead) return;
      // Keep the request line of the request in flight (HTTP/1.1 on one connection is sequential).
      const line = /^(GET|POST|PUT|DELETE|PATCH|HEAD) \S+/.exec(chunk.subarray(0, 512).toString("latin1"));
      if (line) { p.lastRequest = line[0]; p.cutDone = false; p.sent = -1; }
      upstream.write(chunk);
    });
    // Chunks from the hub, in order, each no earlier than delayMs after it came.
    let chain = Promise.resolve();
    upstream.on("data", (chunk: Buffer) => {
      const due = Date.now() + this.delayMs;
      chain = chain.then(async () => {
        const wait = due - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        if (p.dead || client.destroyed) return;
        this.deliver(p, chunk);
      });
    });
  }

  private deliver(p: Pair, chunk: Buffer): void {
    const cut = this.truncate;
    if (!cut || p.cutDone || !cut.match.test(p.lastRequest)) { p.client.write(chunk); return; }
    // p.sent: body bytes of this answer already passed on (-1 while its header is still coming).
    let head = chunk.subarray(0, 0), body = chunk;
    if (p.sent < 0) {
      const end = chunk.indexOf("\r\n\r\n");
      if (end < 0) { p.client.write(chunk); return; }
      head = chunk.subarray(0, end + 4);
      body = chunk.subarray(end + 4);
      p.sent = 0;
    }
    const room = cut.keepBodyBytes - p.sent;
    if (body.length <= room) { p.sent += body.length; p.client.write(chunk); return; }
    p.cutDone = true;
    this.stats.truncated++;
    p.client.end(Buffer.concat([head, body.subarray(0, room)]));
    p.upstream?.destroy();
  }
}
