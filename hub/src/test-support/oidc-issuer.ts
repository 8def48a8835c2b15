import { createHash, randomBytes } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWTPayload } from "jose";

/**
 * A real OpenID Connect issuer for tests (node:http, keys from jose): discovery, a JWKS, an
 * authorization endpoint that signs in the configured `user` at once (no login form) and sends
 * the browser back with a code, and a token endpoint that checks the code, the client (secret by
 * HTTP Basic or in the body) and the PKCE S256 verifier exactly as a real provider must, then
 * answers an ID token carrying the nonce. `sign()` mints tokens directly for API-level tests.
 */
export interface TestUser { sub: string; groups: string[] }
export interface TestClient { id: string; secret?: string; redirectUris: string[] }
export interface TokenCall { client: "basic" | "post" | "none"; answer: number; error?: string }

export interface TestIssuer {
  url: string;
  /** Who the authorization endpoint signs in; null: the user cancels there (error=access_denied). */
  user: TestUser | null;
  /** Lifetime of the ID tokens the token endpoint issues, in seconds (may be negative). */
  idTokenTtlSeconds: number;
  /** While true the token endpoint answers 503, as a provider that is down would. */
  tokenEndpointDown: boolean;
  /** Every token-endpoint call, newest last: how the client authenticated and what it got. */
  readonly tokenCalls: TokenCall[];
  registerClient(client: TestClient): void;
  sign(claims: JWTPayload, opts?: { key?: CryptoKey; kid?: string; expiresIn?: string | number }): Promise<string>;
  close(): Promise<void>;
}

interface PendingCode { clientId: string; redirectUri: string; challenge: string; nonce: string; user: TestUser; expires: number }

/**
 * `host: "localhost"` names the issuer `http://localhost:<port>` while the hub is reached at
 * 127.0.0.1: a different site to the browser, as a real identity provider is (SameSite cookies
 * behave as they would in production). It listens on 127.0.0.1 and, where there is one, ::1.
 */
export async function startIssuer(opts: { host?: "127.0.0.1" | "localhost" } = {}): Promise<TestIssuer> {
  const { privateKey, publicKey } = await generateKeyPair("ES256");
  const jwk = { ...(await exportJWK(publicKey)), kid: "k1", alg: "ES256", use: "sig" };
  const clients = new Map<string, TestClient>();
  const codes = new Map<string, PendingCode>();
  let url = "";

  const sign: TestIssuer["sign"] = (claims, o = {}) => new SignJWT(claims).setProtectedHeader({ alg: "ES256", kid: o.kid ?? "k1" })
    .setIssuer(url).setIssuedAt().setExpirationTime(o.expiresIn ?? "5m").sign(o.key ?? privateKey);

  const issuer: TestIssuer = {
    url: "", user: null, idTokenTtlSeconds: 300, tokenEndpointDown: false, tokenCalls: [],
    registerClient: (c) => { clients.set(c.id, c); },
    sign,
    close: async () => { for (const s of servers) { s.closeAllConnections(); await new Promise<void>((r) => s.close(() => r())); } },
  };

  const json = (res: http.ServerResponse, status: number, body: unknown) =>
    res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" }).end(JSON.stringify(body));

  function authorize(q: URLSearchParams, res: http.ServerResponse): void {
    const client = clients.get(q.get("client_id") ?? "");
    const redirectUri = q.get("redirect_uri") ?? "";
    // An unknown client or redirect URI must not be redirected to (that is how codes get stolen).
    if (!client || !client.redirectUris.includes(redirectUri)) return void res.writeHead(400, { "content-type": "text/plain" }).end("unknown client_id or redirect_uri");
    const back = new URL(redirectUri);
    const state = q.get("state");
    if (state !== null) back.searchParams.set("state", state);
    const fail = (error: string, description: string) => {
      back.searchParams.set("error", error);
      back.searchParams.set("error_description", description);
      res.writeHead(302, { location: back.toString() }).end();
    };
    if (q.get("response_type") !== "code") return fail("unsupported_response_type", "only code");
    if (!(q.get("scope") ?? "").split(" ").includes("openid")) return fail("invalid_scope", "openid is required");
    if (q.get("code_challenge_method") !== "S256" || !q.get("code_challenge")) return fail("invalid_request", "PKCE S256 is required");
    if (!q.get("nonce")) return fail("invalid_request", "a nonce is required");
    if (!issuer.user) return fail("access_denied", "the user cancelled");
    const code = randomBytes(24).toString("base64url");
    codes.set(code, { clientId: client.id, redirectUri, challenge: q.get("code_challenge")!, nonce: q.get("nonce")!, user: issuer.user, expires: Date.now() + 60_000 });
    back.searchParams.set("code", code);
    res.writeHead(302, { location: back.toString() }).end();
  }

  async function token(req: http.IncomingMessage, body: URLSearchParams, res: http.ServerResponse): Promise<void> {
    const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? "");
    const [basicId, basicSecret] = basic ? Buffer.from(basic[1]!, "base64").toString().split(":").map((s) => decodeURIComponent(s.replace(/\+/g, " "))) : [];
    const how: TokenCall["client"] = basic ? "basic" : body.has("client_secret") ? "post" : "none";
    const answer = (status: number, out: Record<string, unknown>) => {
      issuer.tokenCalls.push({ client: how, answer: status, ...(typeof out.error === "string" ? { error: out.error } : {}) });
      json(res, status, out);
    };
    if (issuer.tokenEndpointDown) return answer(503, { error: "temporarily_unavailable" });
    const clientId = basicId ?? body.get("client_id") ?? "";
    const client = clients.get(clientId);
    const secret = basicSecret ?? body.get("client_secret") ?? undefined;
    if (!client || (client.secret !== undefined && secret !== client.secret)) return answer(401, { error: "invalid_client" });
    if (body.get("grant_type") !== "authorization_code") return answer(400, { error: "unsupported_grant_type" });
    const code = body.get("code") ?? "";
    const pending = codes.get(code);
    codes.delete(code); // a code works once
    if (!pending || pending.expires < Date.now() || pending.clientId !== clientId) return answer(400, { error: "invalid_grant", error_description: "unknown, used or expired code" });
    if (body.get("redirect_uri") !== pending.redirectUri) return answer(400, { error: "invalid_grant", error_description: "redirect_uri differs" });
    const verifier = body.get("code_verifier") ?? "";
    if (createHash("sha256").update(verifier).digest("base64url") !== pending.challenge) return answer(400, { error: "invalid_grant", error_description: "PKCE verifier does not match" });
    const now = Math.floor(Date.now() / 1000);
    const idToken = await sign({ sub: pending.user.sub, aud: clientId, nonce: pending.nonce, groups: pending.user.groups }, { expiresIn: now + issuer.idTokenTtlSeconds });
    answer(200, { id_token: idToken, access_token: randomBytes(24).toString("base64url"), token_type: "Bearer", expires_in: issuer.idTokenTtlSeconds });
  }

  const handler: http.RequestListener = (req, res) => {
    const u = new URL(req.url ?? "/", "http://issuer");
    if (u.pathname === "/.well-known/openid-configuration") {
      return json(res, 200, {
        issuer: url, jwks_uri: `${url}/jwks`, authorization_endpoint: `${url}/authorize`, token_endpoint: `${url}/token`,
        response_types_supported: ["code"], subject_types_supported: ["public"], id_token_signing_alg_values_supported: ["ES256"],
        code_challenge_methods_supported: ["S256"], token_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post", "none"],
      });
    }
    if (u.pathname === "/jwks") return json(res, 200, { keys: [jwk] });
    if (u.pathname === "/authorize" && req.method === "GET") return authorize(u.searchParams, res);
    if (u.pathname === "/token" && req.method === "POST") {
      let raw = "";
      req.setEncoding("utf8").on("data", (d: string) => { raw += d; }).on("end", () => {
        token(req, new URLSearchParams(raw), res).catch((e: Error) => json(res, 500, { error: "server_error", error_description: e.message }));
      });
      return;
    }
    json(res, 404, {});
  };

  const servers: http.Server[] = [http.createServer(handler)];
  await new Promise<void>((r) => servers[0]!.listen(0, "127.0.0.1", r));
  const port = (servers[0]!.address() as AddressInfo).port;
  if (opts.host === "localhost") {
    // Where localhost also means ::1, clients may try it first: answer there too (no IPv6: nothing to do).
    const v6 = http.createServer(handler);
    await new Promise<void>((r) => v6.once("error", () => r()).listen(port, "::1", () => { servers.push(v6); r(); }));
  }
  url = issuer.url = `http://${opts.host ?? "127.0.0.1"}:${port}`;
  return issuer;
}
