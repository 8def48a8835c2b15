import fs from "node:fs";
import path from "node:path";
import { Writable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { pino } from "pino";
import { newKeyPair, signAgentJwt } from "@outpost/shared";
import { createHubApp } from "../app.ts";
import { ensureAdminToken } from "../auth/admin-token.ts";
import { openDb, type HubDb } from "../db/client.ts";
import { migrateDb } from "../db/migrate.ts";
import { LocalNotifier } from "../notify/local.ts";
import { KeyStore } from "../signing/keystore.ts";
import { tempDir } from "../test-support/harness.ts";

let db: HubDb;
let dir: string;
afterEach(() => { db.close(); fs.rmSync(dir, { recursive: true, force: true }); });

describe("logging", () => {
  it("logs every request at trace level without tokens, secrets, JWTs or keys", async () => {
    dir = tempDir();
    db = await openDb({ url: `file:${path.join(dir, "hub.db")}` });
    await migrateDb(db);
    const keys = new KeyStore(db, { dataDir: dir });
    await keys.init();
    const admin = (await ensureAdminToken(db, undefined))!;
    let out = "";
    const logger = pino({ level: "trace" }, new Writable({ write(chunk, _enc, cb) { out += chunk; cb(); } }));
    // In-process: createHubApp answers app.request() with no server, as a test or an embedder would use it.
    const app = createHubApp({ hub: db, keys, notifier: new LocalNotifier(), logger, bundleTtlHours: 24, shutdown: new AbortController().signal, now: () => new Date() });
    const call = (p: string, init: RequestInit & { token?: string; json?: unknown } = {}) => app.request(p, {
      ...init,
      headers: { ...(init.token ? { authorization: `Bearer ${init.token}` } : {}), "content-type": "application/json" },
      body: init.json === undefined ? undefined : JSON.stringify(init.json),
    });

    const created = await (await call("/api/v1/tokens", { method: "POST", token: admin, json: { autoApprove: true } })).json() as { token: string };
    const site = await newKeyPair();
    expect((await call("/agent/v1/enroll", { method: "POST", json: { token: created.token, site: "s1", publicKey: site.publicJwk } })).status).toBe(201);
    const jwt = await signAgentJwt("s1", site.privateJwk);
    expect((await call("/agent/v1/bundle?known=0&wait=0", { token: jwt })).status).toBe(204);
    expect((await call("/agent/v1/bundle?known=0&wait=0", { token: jwt })).status).toBe(401); // replay, logged too
    expect((await call("/api/v1/sites", { token: "opa_wrong-token-value" })).status).toBe(401);
    await call("/api/v1/releases", { method: "POST", token: admin, json: { name: "web", version: "1", spec: {} } });
    await call("/api/v1/assignments", { method: "POST", token: admin, json: { release: { name: "web", version: "1" }, selector: "" } });

    const lines = out.trim().split("\n").map((l) => JSON.parse(l) as { msg: string; path?: string });
    expect(lines.filter((l) => l.msg === "request").map((l) => l.path)).toContain("/agent/v1/enroll");
    const secret = created.token.split(".").at(-1)!;
    const bundleKey = (await db.client.execute("SELECT private_jwk FROM signing_keys")).rows.map((r) => JSON.parse(String(r[0])).d as string);
    for (const needle of [admin, created.token, secret, jwt, jwt.split(".")[2]!, "opa_wrong-token-value", site.privateJwk.d!, ...bundleKey]) {
      expect(out.includes(needle), `log contains ${needle.slice(0, 12)}...`).toBe(false);
    }
  });
});
