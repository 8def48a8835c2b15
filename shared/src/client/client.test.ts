import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { generateKeyPair, type CryptoKey } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyAgentJwt } from "../auth/agent-jwt.ts";
import { BUNDLE_VERSION_HEADER } from "../protocol/agent.ts";
import { makeTrustFixture, type TrustFixture } from "../trust/test-fixtures.ts";
import { updateTrust, verifyBundle } from "../trust/verify.ts";
import { AgentClient } from "./agent-client.ts";
import { HubError, joinUrl } from "./http.ts";
import { OperatorClient } from "./operator-client.ts";

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;

/** A real HTTP server on loopback whose behaviour each test sets. */
let server: Server;
let base: string;
let handler: Handler = (_req, _body, res) => { res.writeHead(500).end(); };
const seen: { method: string; url: string; headers: IncomingMessage["headers"]; body: string }[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => { body += c; });
    req.on("end", () => { seen.push({ method: req.method!, url: req.url!, headers: req.headers, body }); handler(req, body, res); });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const json = (res: ServerResponse, status: number, body: unknown) => res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));

describe("AgentClient against a live HTTP server", () => {
  let t: TrustFixture;
  let key: { privateKey: CryptoKey; publicKey: CryptoKey };
  beforeAll(async () => {
    t = await makeTrustFixture({ site: "edge-1" });
    key = (await generateKeyPair("EdDSA", { crv: "Ed25519" })) as typeof key;
  });

  it("fetches a bundle with a fresh signed request token, and the bundle verifies", async () => {
    const jws = await t.bundle({ version: 12 });
    handler = (_req, _b, res) => { res.writeHead(200, { "content-type": "application/jose", [BUNDLE_VERSION_HEADER]: "12" }).end(jws); };
    const client = new AgentClient(base, "edge-1", key.privateKey);
    seen.length = 0;
    const answer = await client.bundle(11, 25);
    expect(answer).toEqual({ status: 200, jws, version: 12 });
    if (answer.status !== 200) throw new Error("unreachable");
    expect((await verifyBundle(t.state, answer.jws, t.now)).payload.version).toBe(12);

    const req = seen[0]!;
    expect(req.url).toBe("/agent/v1/bundle?known=11&wait=25");
    expect(req.headers["if-none-match"]).toBe('"v11"');
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")![1]!;
    await expect(verifyAgentJwt(token, "edge-1", key.publicKey, async () => false)).resolves.toMatchObject({ iss: "edge-1" });
  });

  it("each request carries a different token (single use)", async () => {
    handler = (_req, _b, res) => { res.writeHead(204).end(); };
    const client = new AgentClient(base, "edge-1", key.privateKey);
    seen.length = 0;
    expect(await client.bundle(3, 0)).toEqual({ status: 204 });
    expect(await client.bundle(3, 0)).toEqual({ status: 204 });
    expect(seen[0]!.headers.authorization).not.toBe(seen[1]!.headers.authorization);
  });

  it("keys() returns what updateTrust accepts", async () => {
    handler = (_req, _b, res) => json(res, 200, t.trustBundle);
    const served = await new AgentClient(base, "edge-1", key.privateKey).keys();
    expect((await updateTrust(t.state, served, t.now)).keys).toEqual(t.keysDoc);
  });

  it("turns the hub's error body into a HubError with its code, message and issues", async () => {
    handler = (_req, _b, res) => json(res, 401, { error: { code: "AUTH_REPLAY", message: "request token already used", issues: [{ path: "jti", message: "seen" }] } });
    const err = await new AgentClient(base, "edge-1", key.privateKey).bundle(0, 0).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HubError);
    expect(err).toMatchObject({ status: 401, code: "AUTH_REPLAY", message: "request token already used", issues: [{ path: "jti", message: "seen" }] });
    expect((err as HubError).transient).toBe(false);
  });

  it("a non-JSON 5xx becomes a transient HTTP_<status> error", async () => {
    handler = (_req, _b, res) => { res.writeHead(503).end("upstream down"); };
    const err = await new AgentClient(base, "edge-1", key.privateKey).reports([]).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 503, code: "HTTP_503", message: "upstream down" });
    expect((err as HubError).transient).toBe(true);
  });

  it("an unreachable hub is a transient HubError with status 0 naming the hub", async () => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const err = await new AgentClient(`http://127.0.0.1:${port}`, "edge-1", key.privateKey).keys().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HubError);
    expect(err).toMatchObject({ status: 0, code: "ECONNREFUSED" });
    expect((err as HubError).message).toContain(`127.0.0.1:${port}`);
    expect((err as HubError).transient).toBe(true);
  });
});

describe("AgentClient on a bad link or a host with a wrong clock", () => {
  let key: { privateKey: CryptoKey; publicKey: CryptoKey };
  beforeAll(async () => { key = (await generateKeyPair("EdDSA", { crv: "Ed25519" })) as typeof key; });

  it("a hub that never answers fails the call as a transient TIMEOUT after timeoutMs, not the socket's minutes", async () => {
    handler = () => { /* never answers */ };
    const err = await new AgentClient(base, "edge-1", key.privateKey, { timeoutMs: 300 }).reports([]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HubError);
    expect(err).toMatchObject({ status: 0, code: "TIMEOUT" });
    expect((err as HubError).transient).toBe(true);
    // A long-poll gets its wait on top of the timeout: a 204 after 0.5 s is not a timeout at 0.3 s.
    handler = (_req, _b, res) => { setTimeout(() => res.writeHead(204).end(), 500); };
    expect(await new AgentClient(base, "edge-1", key.privateKey, { timeoutMs: 300 }).bundle(1, 1)).toEqual({ status: 204 });
  });

  it("an answer cut off mid-body is a transient BAD_ANSWER", async () => {
    handler = (_req, _b, res) => {
      res.writeHead(200, { "content-type": "application/json", "content-length": "400" });
      res.write('{"acked":["01');
      setTimeout(() => res.socket?.destroy(), 20);
    };
    const err = await new AgentClient(base, "edge-1", key.privateKey).reports([]).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 0, code: "BAD_ANSWER" });
    expect((err as HubError).transient).toBe(true);
  });

  it("a token refused by a hub whose Date is an hour ahead: signed again on hub time, once, and the offset is reported", async () => {
    const hourMs = 3_600_000;
    const offsets: number[] = [];
    const client = new AgentClient(base, "edge-1", key.privateKey, { onClockOffset: (ms) => offsets.push(ms) });
    handler = (req, _b, res) => {
      const hubNow = new Date(Date.now() + hourMs);
      const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")![1]!;
      // The hub's own check, on the hub's clock.
      verifyAgentJwt(token, "edge-1", key.publicKey, async () => false, hubNow).then(
        () => res.writeHead(204, { date: hubNow.toUTCString() }).end(),
        (e: Error) => json(res.setHeader("date", hubNow.toUTCString()), 401, { error: { code: "AUTH_INVALID", message: e.message } }));
    };
    seen.length = 0;
    expect(await client.bundle(1, 0)).toEqual({ status: 204 });
    expect(seen).toHaveLength(2); // refused once, then accepted
    expect(offsets).toHaveLength(1);
    expect(Math.abs(offsets[0]! - hourMs)).toBeLessThan(2_000);
    seen.length = 0;
    expect(await client.bundle(1, 0)).toEqual({ status: 204 });
    expect(seen).toHaveLength(1); // known from now on
    // Refused for another reason with the offset unchanged: no retry, the error goes to the caller.
    handler = (_req, _b, res) => json(res.setHeader("date", new Date(Date.now() + hourMs).toUTCString()), 401, { error: { code: "AUTH_REPLAY", message: "seen" } });
    seen.length = 0;
    await expect(client.bundle(1, 0)).rejects.toMatchObject({ status: 401, code: "AUTH_REPLAY" });
    expect(seen).toHaveLength(1);
  });
});

describe("OperatorClient against a live HTTP server", () => {
  it("sends the bearer token and JSON, and validates the answer", async () => {
    handler = (_req, _b, res) => json(res, 200, { release: { name: "base", version: "2" }, assigned: [{ site: "edge-1", version: 4 }] });
    seen.length = 0;
    const r = await new OperatorClient(base, "tok-123").assign({ name: "base", version: "2" }, "region=eu");
    expect(r.assigned).toEqual([{ site: "edge-1", version: 4 }]);
    expect(seen[0]).toMatchObject({ method: "POST", url: "/api/v1/assignments" });
    expect(seen[0]!.headers.authorization).toBe("Bearer tok-123");
    expect(JSON.parse(seen[0]!.body)).toEqual({ release: { name: "base", version: "2" }, selector: "region=eu" });
  });

  it("omits unset report filters from the query string", async () => {
    handler = (_req, _b, res) => json(res, 200, { reports: [] });
    seen.length = 0;
    await new OperatorClient(base, "t").reports({ site: "edge-1", kind: undefined, limit: 5 });
    expect(seen[0]!.url).toBe("/api/v1/reports?site=edge-1&limit=5");
  });

  it("refuses an answer that does not match the protocol schema", async () => {
    handler = (_req, _b, res) => json(res, 200, { sites: [{ name: "NOT A SITE" }] });
    await expect(new OperatorClient(base, "t").listSites()).rejects.toThrow();
  });

  it("escapes site names in paths", async () => {
    handler = (_req, _b, res) => json(res, 404, { error: { code: "NOT_FOUND", message: "no such site" } });
    seen.length = 0;
    await expect(new OperatorClient(base, "t").getSite("a/../b")).rejects.toMatchObject({ status: 404, code: "NOT_FOUND" });
    expect(seen[0]!.url).toBe("/api/v1/sites/a%2F..%2Fb");
  });
});

describe("joinUrl", () => {
  it("joins without doubling slashes", () => {
    expect(joinUrl("https://hub.example/", "/agent/v1/keys")).toBe("https://hub.example/agent/v1/keys");
    expect(joinUrl("https://hub.example/prefix//", "/x")).toBe("https://hub.example/prefix/x");
    expect(joinUrl("https://hub.example", "/x")).toBe("https://hub.example/x");
  });
});
