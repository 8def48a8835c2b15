/**
 * TEST FIXTURE, not a hub: a few dozen lines of node:http that speak the agent side of the protocol
 * (keys, enroll, long-poll bundle, reports) with real crypto, so the agent's sync, trust and
 * reporting paths can be tested without the real hub (written in parallel, tested end to end in
 * test/). Root and bundle keys are generated here and bundles are signed with shared's signBundle.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { EventEmitter } from "node:events";
import {
  API_VERSION, BUNDLE_VERSION_HEADER, claimedSite, EnrollRequest, formatEnrollmentToken, importPrivate, importPublic,
  newKeyPair, ReportsRequest, rootHash, signBundle, signKeysDocument, signRootDocument, verifyAgentJwt,
  type BundlePayloadInput, type GeneralJws, type KeyPairJwk, type PublicJwk, type ReportItem, type SigningKey, type SpecInput,
} from "@outpost/shared";

export interface FixtureKey extends KeyPairJwk { signer: SigningKey }

export async function fixtureKey(): Promise<FixtureKey> {
  const kp = await newKeyPair();
  return { ...kp, signer: { kid: kp.kid, privateKey: await importPrivate(kp.privateJwk) } };
}

const DAY = 86_400_000;

export type AckMode = "all" | "none" | "even" | "error";

export class FixtureHub {
  readonly events = new EventEmitter().setMaxListeners(100);
  root!: FixtureKey;
  rootJws!: GeneralJws;
  bundleKeys: FixtureKey[] = [];
  keysVersion = 1;
  keysJws!: GeneralJws;
  token!: string;

  /** What the hub currently serves; `force` serves it even when its version is not above `known`. */
  current: { jws: string; version: number; force: boolean } | null = null;
  sites = new Map<string, { status: "pending" | "approved" | "revoked"; publicKey: PublicJwk }>();
  autoApprove = true;
  ackMode: AckMode = "all";
  /** Every report stored (first receipt), and how many times each id was received. */
  stored = new Map<string, ReportItem>();
  receipts = new Map<string, number>();
  requests: { method: string; path: string; status: number }[] = [];

  private server: Server | null = null;
  port = 0;

  static async create(): Promise<FixtureHub> {
    const hub = new FixtureHub();
    hub.root = await fixtureKey();
    hub.rootJws = await signRootDocument({ type: "outpost-root", version: 1, threshold: 1, keys: [{ kid: hub.root.kid, publicKey: hub.root.publicJwk }] }, [hub.root.signer]);
    hub.bundleKeys = [await fixtureKey()];
    await hub.signKeys();
    hub.token = formatEnrollmentToken({ rootHash: rootHash(hub.rootJws), id: "fixture01", secret: "fixture-secret-0123456789" });
    await hub.start();
    return hub;
  }

  get url(): string { return `http://127.0.0.1:${this.port}`; }
  get bundleKey(): FixtureKey { return this.bundleKeys[this.bundleKeys.length - 1]!; }

  private async signKeys(): Promise<void> {
    this.keysJws = await signKeysDocument({
      type: "outpost-keys", version: this.keysVersion, expiresAt: new Date(Date.now() + 30 * DAY).toISOString(),
      keys: this.bundleKeys.map((k) => ({ kid: k.kid, publicKey: k.publicJwk, roles: ["bundle" as const] })),
    }, [this.root.signer]);
  }

  /** Adds a new bundle signing key under a new keys document version (an online key rotation). */
  async rotateBundleKey(): Promise<FixtureKey> {
    this.bundleKeys.push(await fixtureKey());
    this.keysVersion++;
    await this.signKeys();
    return this.bundleKey;
  }

  async sign(p: { site: string; version: number; spec?: SpecInput; expiresAt?: string; release?: { name: string; version: string }; keysVersion?: number }, key: FixtureKey = this.bundleKey): Promise<string> {
    const now = Date.now();
    const payload: BundlePayloadInput = {
      apiVersion: API_VERSION, site: p.site, version: p.version, issuedAt: new Date(now).toISOString(),
      expiresAt: p.expiresAt ?? new Date(now + DAY).toISOString(), keysVersion: p.keysVersion ?? this.keysVersion,
      release: p.release ?? { name: "base", version: `r${p.version}` }, spec: p.spec ?? {}, artifacts: [],
    };
    return signBundle(payload, key.signer);
  }

  publish(jws: string, version: number, force = false): void {
    this.current = { jws, version, force };
    this.events.emit("bundle");
  }

  eventsOf(type?: string): ReportItem[] {
    return [...this.stored.values()].filter((r) => r.kind === "event" && (!type || (r.body as { type: string }).type === type));
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => { void this.handle(req, res); });
    await new Promise<void>((resolve, reject) => {
      this.server!.once("error", reject);
      this.server!.listen(this.port, "127.0.0.1", () => resolve());
    });
    this.port = (this.server.address() as AddressInfo).port;
  }

  /** Goes away like a crashed hub: listening socket and every open connection closed. */
  async stop(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (!s) return;
    this.events.emit("bundle"); // release held long-polls
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }

  private send(res: ServerResponse, req: IncomingMessage, status: number, body?: unknown, headers: Record<string, string> = {}): void {
    this.requests.push({ method: req.method ?? "", path: req.url ?? "", status });
    if (res.destroyed) return;
    const text = body === undefined ? "" : typeof body === "string" ? body : JSON.stringify(body);
    res.writeHead(status, { "content-type": typeof body === "string" ? "application/jose" : "application/json", ...headers });
    res.end(text);
  }

  private err(res: ServerResponse, req: IncomingMessage, status: number, code: string, message: string): void {
    this.send(res, req, status, { error: { code, message } });
  }

  private async body(req: IncomingMessage): Promise<unknown> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return JSON.parse(Buffer.concat(chunks).toString("utf8"));
  }

  private seen = new Set<string>();
  private async auth(req: IncomingMessage, res: ServerResponse): Promise<string | null> {
    const h = req.headers.authorization ?? "";
    const token = h.startsWith("Bearer ") ? h.slice(7) : "";
    if (!token) { this.err(res, req, 401, "AUTH_MISSING", "no token"); return null; }
    let site: string;
    try { site = claimedSite(token); } catch { this.err(res, req, 401, "AUTH_MALFORMED", "bad token"); return null; }
    const s = this.sites.get(site);
    if (!s) { this.err(res, req, 401, "AUTH_UNKNOWN_SITE", "unknown site"); return null; }
    try {
      await verifyAgentJwt(token, site, await importPublic(s.publicKey), async (jti) => { const had = this.seen.has(jti); this.seen.add(jti); return had; });
    } catch (e) { this.err(res, req, 401, (e as { code?: string }).code ?? "AUTH_INVALID", (e as Error).message); return null; }
    if (s.status === "pending") { this.err(res, req, 403, "AUTH_SITE_PENDING", "site awaits approval"); return null; }
    if (s.status === "revoked") { this.err(res, req, 403, "AUTH_SITE_REVOKED", "site revoked"); return null; }
    return site;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://x");
    try {
      if (req.method === "GET" && url.pathname === "/agent/v1/keys") {
        return this.send(res, req, 200, { roots: [this.rootJws], keys: this.keysJws });
      }
      if (req.method === "POST" && url.pathname === "/agent/v1/enroll") {
        const body = EnrollRequest.parse(await this.body(req));
        if (body.token !== this.token) return this.err(res, req, 401, "ENROLL_TOKEN_INVALID", "bad token");
        const existing = this.sites.get(body.site);
        if (existing && existing.publicKey.x !== body.publicKey.x) return this.err(res, req, 409, "SITE_EXISTS", "site exists with another key");
        if (existing) return this.send(res, req, 200, { site: body.site, status: existing.status }); // idempotent, like the hub
        const status = this.autoApprove ? "approved" : "pending";
        this.sites.set(body.site, { status, publicKey: body.publicKey });
        return this.send(res, req, 201, { site: body.site, status });
      }
      if (req.method === "GET" && url.pathname === "/agent/v1/bundle") {
        if ((await this.auth(req, res)) === null) return;
        const known = Number(url.searchParams.get("known") ?? 0);
        const wait = Number(url.searchParams.get("wait") ?? 0);
        const ready = () => this.current && (this.current.force || this.current.version > known);
        if (!ready() && wait > 0) {
          await new Promise<void>((resolve) => {
            const done = () => { clearTimeout(t); this.events.off("bundle", done); res.off("close", done); resolve(); };
            const t = setTimeout(done, wait * 1000);
            this.events.on("bundle", done);
            res.on("close", done);
          });
        }
        if (res.destroyed || !this.server) return;
        const cur = this.current;
        if (cur && ready()) return this.send(res, req, 200, cur.jws, { [BUNDLE_VERSION_HEADER]: String(cur.version) });
        return this.send(res, req, 204);
      }
      if (req.method === "POST" && url.pathname === "/agent/v1/reports") {
        if ((await this.auth(req, res)) === null) return;
        const { reports } = ReportsRequest.parse(await this.body(req));
        if (this.ackMode === "error") return this.err(res, req, 503, "UNAVAILABLE", "try later");
        let stored = 0;
        for (const r of reports) {
          this.receipts.set(r.id, (this.receipts.get(r.id) ?? 0) + 1);
          if (!this.stored.has(r.id)) { this.stored.set(r.id, r); stored++; }
        }
        const acked = this.ackMode === "none" ? [] : this.ackMode === "even" ? reports.filter((_, i) => i % 2 === 0).map((r) => r.id) : reports.map((r) => r.id);
        this.events.emit("reports");
        return this.send(res, req, 200, { acked, stored, duplicates: reports.length - stored });
      }
      this.err(res, req, 404, "NOT_FOUND", url.pathname);
    } catch (e) {
      this.err(res, req, 400, "BAD_REQUEST", (e as Error).message);
    }
  }
}
