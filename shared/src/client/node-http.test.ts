import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HubError, lightRequest } from "./http.ts";
import { lightFetch } from "./node-http.ts";

/** A real HTTP server on loopback; each test sets what it answers and sees which connection asked. */
let server: Server;
let base: string;
let handler: (req: IncomingMessage, res: ServerResponse) => void = (_q, res) => { res.writeHead(500).end(); };
const sockets = new Set<Socket>();
const requests: { socket: Socket; url: string; body: string }[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => { body += c; });
    req.on("end", () => { requests.push({ socket: req.socket, url: req.url!, body }); handler(req, res); });
  });
  server.on("connection", (s) => sockets.add(s));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => { server.closeAllConnections(); return new Promise<void>((r) => server.close(() => r())); });

describe("lightFetch (the agent's HTTP client over node:http)", () => {
  it("sends method, headers and body, and reads status, headers and JSON", async () => {
    handler = (_q, res) => res.writeHead(201, { "content-type": "application/json", "x-outpost-bundle-version": "7" }).end('{"ok":true}');
    const res = await lightFetch(`${base}/r`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"a":"é"}' });
    expect({ status: res.status, ok: res.ok, v: res.headers.get("X-Outpost-Bundle-Version"), none: res.headers.get("x-none") }).toEqual({ status: 201, ok: true, v: "7", none: null });
    expect(await res.json()).toEqual({ ok: true });
    expect(requests.at(-1)!.body).toBe('{"a":"é"}');
  });

  it("a cancelled 204 hands its keep-alive connection back: the next long-poll rides the same socket", async () => {
    handler = (_q, res) => res.writeHead(204).end();
    requests.length = 0;
    for (let i = 0; i < 3; i++) await (await lightFetch(`${base}/poll`)).body.cancel();
    expect(requests).toHaveLength(3);
    expect(new Set(requests.map((r) => r.socket)).size).toBe(1);
  });

  it("cancelling a body still arriving closes that connection instead of reading on", async () => {
    let open!: ServerResponse;
    handler = (_q, res) => { open = res; res.writeHead(200); res.write("x".repeat(1000)); };
    const res = await lightFetch(`${base}/endless`);
    for await (const chunk of res.body) { expect(chunk.byteLength).toBeGreaterThan(0); break; }
    await res.body.cancel();
    await new Promise((r) => open.once("close", r)); // the server never ended it: the client hung up
    expect(open.writableFinished).toBe(false);
  });

  it("an abort rejects with the signal's reason, while waiting for the answer and while reading the body", async () => {
    handler = () => {}; // a long-poll the hub holds
    const waiting = await lightFetch(`${base}/held`, { signal: AbortSignal.timeout(100) }).catch((e: unknown) => e);
    expect((waiting as Error).name).toBe("TimeoutError");

    handler = (_q, res) => { res.writeHead(200); res.write("partial"); };
    const ac = new AbortController();
    const res = await lightFetch(`${base}/slow-body`, { signal: ac.signal });
    setTimeout(() => ac.abort(), 50);
    const reading = await res.text().catch((e: unknown) => e);
    expect((reading as Error).name).toBe("AbortError");
    const before = await lightFetch(`${base}/x`, { signal: AbortSignal.abort() }).catch((e: unknown) => e);
    expect((before as Error).name).toBe("AbortError");
  });

  it("a silent connection (a NAT that dropped it) fails after the idle timeout as a transient HubError naming the hub", async () => {
    handler = () => {};
    const err = await lightRequest(`${base}/silent`, { idleTimeoutMs: 200 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HubError);
    expect(err).toMatchObject({ status: 0, code: "ETIMEDOUT" });
    expect((err as HubError).message).toContain(base);
    expect((err as HubError).transient).toBe(true);
  });

  it("refuses a URL that is not http(s) before sending anything", async () => {
    const n = requests.length;
    await expect(lightRequest("ftp://127.0.0.1/x", {})).rejects.toMatchObject({ status: 0, code: "UNSUPPORTED_PROTOCOL" });
    expect(requests).toHaveLength(n);
  });
});
