import { readdirSync, statSync } from "node:fs";
import { connect } from "node:net";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CryptoKey } from "jose";
import { AgentClient, importPrivate, newKeyPair, signAgentJwt } from "@outpost/shared";
import { openDb, type HubDb } from "@outpost/hub";
import { snapshotDb } from "@outpost/hub/test-support/harness";
import { OPERATOR_ROUTES, type OperatorRoute } from "@outpost/hub/api/operator/route-table";
import { Fleet } from "../lib/fleet.ts";
import { oneEventReport } from "../lib/mqtt.ts";
import { recordCase } from "./report.ts";
import { HttpFuzzer, type FuzzRequest } from "./lib/fuzz-http.ts";
import { KnownSecrets, logBytes } from "./lib/attack-secrets.ts";
import { percentEncode } from "./lib/fuzz-url.ts";

/**
 * The operator API under attack, on a real hub process logging at trace: path traversal in artifact
 * names and paths, SQL-ish strings in every text field of every route (from the route table), 10 MB
 * bodies and deep JSON and invalid UTF-8 to every route that takes a body, header floods. Each
 * refusal is a clean 4xx naming the problem with the database unchanged; what is accepted is stored
 * verbatim; the hub keeps answering; and no secret ends up in its output.
 */
const fleet = new Fleet();
const secrets = new KnownSecrets();
let db: HubDb;
const SITE = "op-site";
let siteKey: CryptoKey;
let rollout = "", artifact = "", tokenId = "";
const figures: Record<string, Record<string, number | string>> = {};

const SQLISH = ["' OR '1'='1", "'; DROP TABLE sites; --", "\" OR 1=1 --", "1) UNION SELECT token_hash FROM api_tokens --", "'); DELETE FROM releases; --", "%' AND 1=1 --", "\\'; SELECT sqlite_version(); --", "1; PRAGMA writable_schema=1"];
const TRAVERSAL = ["../../../../etc/passwd", "..", "../hub.db", "/etc/passwd", "a/../../b", "..\\..\\hub.db", "%2e%2e%2fhub.db", "keys/../hub.db", "\u0000passwd"];
const admin = () => ({ authorization: `Bearer ${fleet.adminToken}` });
const json = { "content-type": "application/json" };

/** A route's path with fixtures for its parameters (or `values` for them). */
function pathOf(route: OperatorRoute, values: Record<string, string> = {}): string {
  let p = route.path;
  for (const name of Object.keys(route.params ?? {})) {
    const fixture = name === "site" ? (route.method === "DELETE" ? "op-doomed" : SITE) : name === "user" ? "op-user" : name === "sha256" ? artifact
      : name === "id" ? (route.path.startsWith("/api-tokens") ? tokenId : rollout) : "x";
    p = p.replace(`:${name}`, percentEncode(values[name] ?? fixture));
  }
  return `/api/v1${p}`;
}
/** The route's example query (the upload's `name`), so a refusal is about what the case sends. */
const exampleQs = (route: OperatorRoute) => (route.exampleQuery ? `?${new URLSearchParams(route.exampleQuery)}` : "");
const bodyRoutes = OPERATOR_ROUTES.filter((r) => r.body !== undefined && r.body !== "octet-stream");

/** Every string leaf of a JSON value, as a path of keys. */
function stringPaths(v: unknown, at: (string | number)[] = []): (string | number)[][] {
  if (typeof v === "string") return [at];
  if (Array.isArray(v)) return v.flatMap((x, i) => stringPaths(x, [...at, i]));
  if (v && typeof v === "object") return Object.entries(v).flatMap(([k, x]) => stringPaths(x, [...at, k]));
  return [];
}
function setAt(v: unknown, path: (string | number)[], value: unknown): unknown {
  if (!path.length) return value;
  const copy = (Array.isArray(v) ? [...v] : { ...(v as object) }) as Record<string | number, unknown>;
  copy[path[0]!] = setAt(copy[path[0]!], path.slice(1), value);
  return copy;
}

/** Tree of the hub's data directory (names and sizes), to show a refused upload wrote nothing anywhere. */
function tree(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => { for (const f of readdirSync(d)) { const p = join(d, f); const st = statSync(p); if (st.isDirectory()) walk(p); else out.push(relative(dir, p)); } };
  walk(dir);
  return out.filter((f) => !/hub\.db/.test(f)).sort();
}

/**
 * Sends raw bytes over a socket (what fetch would never send, or could not finish sending: a client
 * writing 10 MB gets EPIPE once the hub has answered 413 and hung up) and returns the answer's
 * status, or "closed" if the hub hung up without one.
 */
function rawHttp(bytes: string | Buffer): Promise<number | "closed"> {
  const { hostname, port } = new URL(fleet.url);
  return new Promise((resolve) => {
    const sock = connect(Number(port), hostname);
    let got = "";
    const status = () => { const m = /^HTTP\/1\.1 (\d{3})/.exec(got); return m ? Number(m[1]) : null; };
    sock.on("data", (d) => { got += d.toString("latin1"); const s = status(); if (s !== null) { resolve(s); sock.destroy(); } });
    sock.on("error", () => { /* EPIPE after the answer: 'close' follows and says what came */ });
    sock.on("close", () => resolve(status() ?? "closed"));
    sock.write(bytes);
  });
}
const request = (method: string, path: string, headers: Record<string, string>, body: string) =>
  rawHttp(`${method} ${path} HTTP/1.1\r\nHost: x\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join("")}Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);

async function healthy(): Promise<void> {
  expect((await fetch(`${fleet.url}/healthz`)).status).toBe(200);
}

beforeAll(async () => {
  await fleet.startHub({ OUTPOST_LOG_LEVEL: "trace", OUTPOST_MQTT: "off", OUTPOST_ROLLOUT_TICK_SECONDS: "0", OUTPOST_ARTIFACT_MAX_BYTES: String(1024 * 1024) });
  db = await openDb({ url: `file:${join(fleet.hubDataDir, "hub.db")}` });
  for (const name of ["op-site", "op-doomed"]) {
    const key = await newKeyPair();
    const { token } = await fleet.op.createToken({ autoApprove: true });
    secrets.addEnrollmentToken(token).addJwk("agent private key", key.privateJwk);
    await new AgentClient(fleet.url, name, await importPrivate(key.privateJwk)).enroll({ token, site: name, publicKey: key.publicJwk });
    if (name === SITE) siteKey = await importPrivate(key.privateJwk);
  }
  await fleet.op.createRelease({ name: "web", version: "1.0.0", spec: {} });
  await fleet.op.assign({ name: "web", version: "1.0.0" }, "");
  artifact = (await fleet.op.uploadArtifact("op-blob", new Uint8Array([1, 2, 3]))).sha256;
  rollout = (await fleet.op.createRollout({ release: { name: "web", version: "1.0.0" }, selector: "", strategy: { waves: ["100%"] } })).id;
  const user = await fleet.op.createUser("op-user", "viewer");
  secrets.add("API token", user.token.token);
  const own = await fleet.op.createApiToken("op");
  tokenId = own.id;
  secrets.add("API token", own.token);
}, 120_000);
afterAll(async () => { db?.close(); await fleet.close(); });

describe("attacks on the operator API", () => {
  it("path traversal in artifact names and paths writes and reads nothing outside the store", async () => {
    const fz = new HttpFuzzer(fleet.url, db);
    const before = tree(fleet.hubDataDir);
    for (const name of TRAVERSAL) {
      const res = await fz.send({ method: "POST", path: `/api/v1/artifacts?name=${percentEncode(name)}`, headers: { ...admin(), "content-type": "application/octet-stream" }, body: new Uint8Array([6, 6, 6]) });
      expect(res.status, name).toBe(400);
      expect(JSON.parse(res.text).error.issues.map((i: { path: string }) => i.path)).toContain("name");
      // A release naming such an artifact is refused the same way.
      const rel = await fz.send({ method: "POST", path: "/api/v1/releases", headers: { ...admin(), ...json }, body: JSON.stringify({ name: "trav", version: "1", spec: {}, artifacts: [{ name, sha256: artifact, size: 3, url: `/agent/v1/artifacts/${artifact}` }] }) });
      expect(rel.status).toBe(400);
    }
    // Reading by a digest that is really a path: refused by the route's own validation, or by the
    // router, never a file. fetch would normalise `..`, so these go over a raw socket too.
    for (const p of TRAVERSAL) {
      const res = await fz.send({ method: "GET", path: `/api/v1/artifacts/${percentEncode(p)}`, headers: admin() });
      expect([400, 404]).toContain(res.status);
    }
    const agentJwt = await signAgentJwt(SITE, siteKey);
    for (const raw of ["/api/v1/artifacts/../../hub.db", "/api/v1/artifacts/..%2f..%2fhub.db", "/agent/v1/artifacts/../../../keys", "/api/v1/../../hub.db", "/ui/static/../../hub.db"]) {
      for (const auth of [`Bearer ${fleet.adminToken}`, `Bearer ${agentJwt}`]) {
        const status = await rawHttp(`GET ${raw} HTTP/1.1\r\nHost: x\r\nAuthorization: ${auth}\r\nConnection: close\r\n\r\n`);
        expect(status === "closed" || (status >= 400 && status < 500), `${raw} -> ${status}`).toBe(true);
      }
    }
    expect(tree(fleet.hubDataDir)).toEqual(before);
    await healthy();
    figures.traversal = { "traversal names and paths tried": fz.inputs + 10, "files written or read outside the store": 0, "5xx seen": fz.serverErrors };
  });

  it("SQL-ish strings in every text field of every route are refused cleanly or stored verbatim", async () => {
    const fz = new HttpFuzzer(fleet.url, db);
    const tables = async () => (await db.client.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")).rows.map((r) => String(r.name));
    const tablesBefore = await tables();
    for (const route of OPERATOR_ROUTES) {
      const example = route.body && route.body !== "octet-stream" ? route.example ?? {} : undefined;
      const send = (path: string, body?: unknown) => fz.send({ method: route.method, path, headers: { ...admin(), ...(body !== undefined ? json : {}) }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
      for (const s of SQLISH) {
        for (const leaf of stringPaths(example)) await send(pathOf(route), setAt(example, leaf, s));
        for (const name of Object.keys(route.params ?? {})) await send(pathOf(route, { [name]: s }), example);
        for (const q of Object.keys(route.query?.shape ?? {})) await send(`${pathOf(route)}?${percentEncode(q)}=${percentEncode(s)}`, example);
        if (route.method === "GET" && !route.query) await send(`${pathOf(route)}?q=${percentEncode(s)}`);
      }
    }
    // Free-text fields keep the string as written (a parameterised query, not a filtered one).
    for (const [i, s] of SQLISH.entries()) {
      await fleet.op.createRelease({ name: "sqlish", version: `1.${i}`, description: s, spec: {} });
      expect((await fleet.op.listReleases()).find((r) => r.version === `1.${i}`)?.description).toBe(s);
      const tk = await fleet.op.createApiToken(s);
      secrets.add("API token", tk.token);
      expect((await fleet.op.listApiTokens()).find((x) => x.id === tk.id)?.name).toBe(s);
      expect(await fleet.op.reports({ type: s.slice(0, 64) })).toEqual([]);
      expect(await fleet.op.audit({ actor: s })).toEqual([]);
    }
    expect(await tables()).toEqual(tablesBefore);
    expect(String((await db.client.execute("PRAGMA integrity_check")).rows[0]![0])).toBe("ok");
    await healthy();
    figures.sql = { "requests with SQL-ish strings": fz.inputs, "answers by status": fz.histogram(), "refused requests that changed the DB": fz.refusedThatWrote, "5xx seen": fz.serverErrors, "free-text fields read back verbatim": SQLISH.length * 2 };
  });

  it("10 MB bodies, deep JSON and invalid UTF-8 to every route that takes a body: 413 / 400, nothing stored", async () => {
    const fz = new HttpFuzzer(fleet.url, db);
    const tenMb = "x".repeat(10 * 1024 * 1024);
    const agentRoutes = ["/agent/v1/enroll", "/agent/v1/reports"];
    const code = (t: string) => (JSON.parse(t) as { error: { code: string } }).error.code;
    const before = await snapshotDb(db);
    let oversized = 0;
    for (const route of OPERATOR_ROUTES.filter((r) => r.method !== "GET")) {
      const type = route.body === "octet-stream" ? "application/octet-stream" : "application/json";
      // A reports file carries a site's whole outbox (up to 64 MiB): 10 MB of junk is refused for what it is.
      const want = route.path === "/reports/import" ? 400 : 413;
      expect(await request(route.method, pathOf(route) + exampleQs(route), { ...admin(), "content-type": type }, `{"a":"${tenMb}"}`), `${route.method} ${route.path}`).toBe(want);
      oversized++;
    }
    for (const path of agentRoutes) { expect(await request("POST", path, json, `{"a":"${tenMb}"}`), path).toBe(413); oversized++; }
    // The same without a Content-Length (chunked): refused while it streams in.
    const chunked = await fetch(`${fleet.url}/api/v1/releases`, { method: "POST", headers: { ...admin(), ...json }, duplex: "half",
      body: new ReadableStream({ start(c) { for (let i = 0; i < 10; i++) c.enqueue(new TextEncoder().encode("x".repeat(1024 * 1024))); c.close(); } }) } as RequestInit);
    expect(chunked.status).toBe(413);
    await chunked.text();
    expect(await snapshotDb(db)).toEqual(before);

    const deep = ["[".repeat(100_000) + "]".repeat(100_000), '{"a":'.repeat(50_000) + "{}" + "}".repeat(50_000)];
    for (const route of bodyRoutes) for (const d of deep) {
      const r = await fz.send({ method: route.method, path: pathOf(route), headers: { ...admin(), ...json }, body: d });
      expect(r.status, `${route.method} ${route.path}`).toBe(400);
    }
    // Deep where free-form JSON is stored: an event's details (it was a 500, and over MQTT a dropped batch).
    const ev = JSON.parse(oneEventReport("deep").body) as { reports: { body: Record<string, unknown> }[] };
    const deepReport = JSON.stringify(ev).replace('"message":"deep"', `"message":"deep","details":{"x":${deep[0]}}`);
    // (A verified request token burns its id and marks the site seen even when the body is refused.)
    const agentFz = new HttpFuzzer(fleet.url, db, { tables: ["used_jtis"], columns: { sites: ["last_seen_at"] } });
    const r = await agentFz.send({ method: "POST", path: "/agent/v1/reports", headers: { authorization: `Bearer ${await signAgentJwt(SITE, siteKey)}`, ...json }, body: deepReport });
    expect(r.status).toBe(400);
    expect(r.text).toContain("details");
    await fz.rebase();

    for (const route of bodyRoutes) {
      const text = JSON.stringify(route.example ?? {});
      const at = text.lastIndexOf('"');
      const bytes = at > 0 ? Buffer.concat([Buffer.from(text.slice(0, at)), Buffer.from([0xff, 0xfe]), Buffer.from(text.slice(at))]) : Buffer.from([0x7b, 0xff, 0x7d]);
      const res = await fz.send({ method: route.method, path: pathOf(route), headers: { ...admin(), ...json }, body: new Uint8Array(bytes) });
      expect({ route: route.path, status: res.status, code: code(res.text) }).toEqual({ route: route.path, status: 400, code: "BAD_JSON" });
      expect(res.text).toMatch(/UTF-8/);
    }
    // A form no browser would send, on the dashboard's sign-in (it was a 500).
    const form = await fz.send({ method: "POST", path: "/ui/login", headers: { origin: new URL(fleet.url).origin, "content-type": "multipart/form-data; boundary=" }, body: "----\r\n" });
    expect(form.status).toBe(400);
    await healthy();
    figures.bodies = {
      "requests (10 MB, deep, invalid UTF-8, broken form)": fz.inputs + agentFz.inputs + oversized + 1,
      "10 MB bodies answered 413 (the 64 MiB reports file: 400)": oversized, "deep / invalid UTF-8 / broken form answers by status": fz.histogram(), "refused requests that changed the DB": fz.refusedThatWrote, "5xx seen": fz.serverErrors };
  });

  it("header floods are refused and the hub keeps answering", async () => {
    const many = Array.from({ length: 5000 }, (_, i) => `X-Flood-${i}: ${"v".repeat(8)}\r\n`).join("");
    const huge = `X-Huge: ${"h".repeat(1024 * 1024)}\r\n`;
    const auths = Array.from({ length: 500 }, () => `Authorization: Bearer ${fleet.adminToken}\r\n`).join("");
    const projects = Array.from({ length: 300 }, (_, i) => `X-Outpost-Project: p${i}\r\n`).join("");
    const results: Record<string, number | "closed"> = {};
    results["5000 headers"] = await rawHttp(`GET /api/v1/sites HTTP/1.1\r\nHost: x\r\n${many}\r\n`);
    results["one 1 MiB header"] = await rawHttp(`GET /api/v1/sites HTTP/1.1\r\nHost: x\r\n${huge}\r\n`);
    results["500 Authorization headers"] = await rawHttp(`GET /api/v1/sites HTTP/1.1\r\nHost: x\r\n${auths}Connection: close\r\n\r\n`);
    results["300 project headers"] = await rawHttp(`GET /api/v1/sites HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${fleet.adminToken}\r\n${projects}Connection: close\r\n\r\n`);
    // A hundred connections at once, each sending 5000 headers.
    const burst = await Promise.all(Array.from({ length: 100 }, () => rawHttp(`GET /healthz HTTP/1.1\r\nHost: x\r\n${many}\r\n`)));
    expect(results["5000 headers"]).toBe(431);
    expect(results["one 1 MiB header"]).toBe(431);
    for (const k of ["500 Authorization headers", "300 project headers"]) expect([400, 401, 431], k).toContain(results[k]);
    expect(burst.every((s) => s === 431 || s === "closed")).toBe(true);
    await healthy();
    expect(fleet.hub.alive).toBe(true);
    figures.headers = { "floods sent": 4 + burst.length, ...Object.fromEntries(Object.entries(results).map(([k, v]) => [k, String(v)])), "burst of 100 x 5000 headers": burst.filter((s) => s === 431).length + " answered 431", "hub still answering": "yes" };
  });

  it("no secret reached the hub's output, and the cases are recorded", async () => {
    secrets.add("admin token", fleet.adminToken).addJwkFiles("hub root key (private)", join(fleet.hubDataDir, "keys"));
    await secrets.addHubSigningKeys(db);
    const logs = { "hub process": fleet.hub.text() };
    const leaks = secrets.leaks(logs);
    expect(leaks).toEqual([]);
    expect(fleet.hub.text().length).toBeGreaterThan(10_000); // trace logging was on

    const rec = (id: string, title: string, done: string, checked: string, f: Record<string, number | string>, inputs: keyof typeof f) => recordCase({
      id, section: "Attacks", title, done, checked, figures: f, totals: { inputsTried: Number(f[inputs]), serverErrors: Number(f["5xx seen"] ?? 0) },
    });
    rec("attack-operator-path-traversal", "Path traversal in artifact names and paths",
      `Uploaded artifacts named ${TRAVERSAL.length} traversal strings (../, absolute, encoded, backslashes, NUL), made releases naming them, and fetched artifacts by such paths, percent-encoded and raw over a socket (so nothing normalised them), as an operator and as an agent.`,
      "Every upload and release 400 naming the field, every read 4xx, the hub's data directory unchanged file for file, the database unchanged.", figures.traversal!, "traversal names and paths tried");
    rec("attack-operator-sqlish", "SQL-ish strings in every text field of every operator route",
      `For each of the ${OPERATOR_ROUTES.length} routes in the route table, each of ${SQLISH.length} SQL-ish strings in turn in every string field of its example body, every path parameter and every query parameter; then the free-text fields (release description, API token name, report type and audit actor filters) read back.`,
      "No 5xx; every refusal left the database unchanged; the free text comes back exactly as sent; no table lost; PRAGMA integrity_check ok.", figures.sql!, "requests with SQL-ish strings");
    rec("attack-operator-bodies", "10 MB bodies, deep JSON, invalid UTF-8 on every route that takes a body",
      "A 10 MB body to every mutating operator route and to enroll and reports (and 10 MiB chunked, without a length); arrays 100 000 deep and objects 50 000 deep to every JSON route and inside an event's details; invalid UTF-8 inside a string of every route's example body; a broken multipart form on the dashboard sign-in.",
      "413 for every oversized body, 400 for deep JSON (400 naming details for the event, which had been a 500), 400 BAD_JSON naming UTF-8 for invalid UTF-8 (it had been stored as U+FFFD), 400 for the broken form (had been a 500); database unchanged after each.", figures.bodies!, "requests (10 MB, deep, invalid UTF-8, broken form)");
    rec("attack-operator-header-floods", "Header floods",
      "Over raw sockets: 5000 headers, one 1 MiB header, 500 Authorization headers, 300 project headers, and 100 connections at once each with 5000 headers.",
      "431 for the oversized header blocks, 4xx for the duplicated ones, and the hub answered /healthz afterwards.", figures.headers!, "floods sent");
    recordCase({
      id: "attack-secrets-in-logs-operator",
      section: "Attacks",
      title: "No secret in the hub's output during the operator-API attacks (trace)",
      done: "Kept the whole output of the hub process (trace level, including what `outpost hub start` prints) through the operator-API attacks and grepped it for every secret the test knew.",
      checked: `None of ${secrets.count()} secrets (${secrets.kinds().join(", ")}) appears in it; an admin token given in OUTPOST_ADMIN_TOKEN used to be printed on start.`,
      figures: { "log bytes scanned": logBytes(logs), "secrets searched": secrets.count(), "secrets found": leaks.length },
    });
  });
});
