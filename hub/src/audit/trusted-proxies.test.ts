import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestHub, type TestHub } from "../test-support/harness.ts";

/**
 * OUTPOST_TRUSTED_PROXIES through a real hub on a real socket: the audit log records the address
 * X-Forwarded-For names only when the TCP peer is a trusted proxy, and the dashboard's Origin
 * check believes X-Forwarded-Host only from one. Loopback has a whole /8, so the "proxy" is a
 * client bound to 127.0.0.2 and the "direct caller" one bound to 127.0.0.1.
 */
const PROXY = "127.0.0.2";
const DIRECT = "127.0.0.1";
let t: TestHub;

beforeAll(async () => { t = await startTestHub({ rolloutTickSeconds: 0, trustedProxies: `${PROXY}/32, 10.0.0.0/8` }); });
afterAll(async () => { await t?.stop(); });

function from(localAddress: string, path: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<{ status: number; location?: string; cookie?: string }> {
  const url = new URL(t.hub.url + path);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, path, method: opts.method ?? "GET", headers: opts.headers, localAddress }, (res) => {
      res.resume().on("end", () => resolve({ status: res.statusCode!, location: res.headers.location, cookie: res.headers["set-cookie"]?.join("; ") }));
    });
    req.on("error", reject).end(opts.body);
  });
}

async function auditedFrom(route: string): Promise<(string | null)[]> {
  return (await t.op.audit({ limit: 1000 })).filter((e) => e.route === route).map((e) => e.sourceIp);
}

describe("trusted proxies", () => {
  it("the audit row names the forwarded client only when a trusted proxy passed it on", async () => {
    const create = (local: string, xff: string, name: string) => from(local, "/api/v1/releases", {
      method: "POST", body: JSON.stringify({ name, version: "1", spec: {} }),
      headers: { authorization: `Bearer ${t.hub.adminToken}`, "content-type": "application/json", "x-forwarded-for": xff },
    });
    // Through the proxy: the client wrote a spoofed entry first, the proxy appended the real peer it saw, then another trusted hop.
    expect((await create(PROXY, "198.51.100.66, 203.0.113.7, 10.1.2.3", "via-proxy")).status).toBe(201);
    // Directly, with the same header: ignored, the socket's address is recorded.
    expect((await create(DIRECT, "203.0.113.7", "direct")).status).toBe(201);
    expect(await auditedFrom("/api/v1/releases")).toEqual([DIRECT, "203.0.113.7"]); // newest first
  });

  it("the dashboard passes the browser's forwarded address on to the API it calls in-process", async () => {
    const body = new URLSearchParams({ token: t.hub.adminToken!, next: "/ui" }).toString();
    const headers = (origin: string) => ({
      "content-type": "application/x-www-form-urlencoded", origin, host: `127.0.0.1:${t.hub.port}`,
      "x-forwarded-for": "203.0.113.8", "x-forwarded-host": "fleet.example.org", "x-forwarded-proto": "https",
    });
    // Through the proxy the browser's origin is the public one; directly it must be the hub's own.
    const proxied = await from(PROXY, "/ui/login", { method: "POST", body, headers: headers("https://fleet.example.org") });
    expect(proxied).toMatchObject({ status: 303, location: "/ui" });
    expect(proxied.cookie).toMatch(/outpost_session=.*Secure/); // the browser is on https, as the proxy says
    expect((await from(DIRECT, "/ui/login", { method: "POST", body, headers: headers("https://fleet.example.org") })).status).toBe(403);
    const direct = await from(DIRECT, "/ui/login", { method: "POST", body, headers: headers(`http://127.0.0.1:${t.hub.port}`) });
    expect(direct.status).toBe(303);
    expect(direct.cookie).not.toMatch(/Secure/); // X-Forwarded-Proto from anyone else means nothing
    expect(await auditedFrom("/ui/login")).toEqual([DIRECT, "203.0.113.8"]);
  });
});
