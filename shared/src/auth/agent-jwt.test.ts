import { decodeJwt, decodeProtectedHeader, generateKeyPair, SignJWT, type CryptoKey } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import {
  AGENT_JWT_LEEWAY_S, AGENT_JWT_MAX_TTL_S, AgentAuthError, claimedSite, HUB_AUDIENCE, signAgentJwt, verifyAgentJwt, type AgentJwtCode,
} from "./agent-jwt.ts";

const NOW = new Date("2031-03-01T12:00:00.000Z");
const at = (s: number) => new Date(NOW.getTime() + s * 1000);
const nowS = Math.floor(NOW.getTime() / 1000);

interface Pair { privateKey: CryptoKey; publicKey: CryptoKey }
const pair = () => generateKeyPair("EdDSA", { crv: "Ed25519" }) as Promise<Pair>;

/** An in-memory replay store like the hub's: true when the jti was already used. */
function jtiStore() {
  const seen = new Map<string, number>();
  const fn = async (jti: string, exp: number) => { if (seen.has(jti)) return true; seen.set(jti, exp); return false; };
  return Object.assign(fn, { seen });
}
const fresh = async () => false;

async function expectAuthCode(p: Promise<unknown> | (() => unknown), code: AgentJwtCode) {
  let err: unknown;
  try { await (typeof p === "function" ? p() : p); } catch (e) { err = e; }
  expect(err, `expected AgentAuthError ${code}`).toBeInstanceOf(AgentAuthError);
  expect((err as AgentAuthError).code).toBe(code);
  return err as AgentAuthError;
}

/** A token crafted by hand, for the shapes signAgentJwt never makes. */
function craft(site: string, claims: { iat?: number; exp?: number; aud?: string; jti?: string | null; sub?: string } = {}) {
  const iat = claims.iat ?? nowS;
  const j = new SignJWT({}).setProtectedHeader({ alg: "EdDSA", typ: "JWT" })
    .setIssuer(site).setSubject(claims.sub ?? site).setAudience(claims.aud ?? HUB_AUDIENCE)
    .setIssuedAt(iat).setExpirationTime(claims.exp ?? iat + AGENT_JWT_MAX_TTL_S);
  if (claims.jti !== null) j.setJti(claims.jti ?? `jti-${Math.random()}`);
  return j;
}

describe("agent request JWT", () => {
  let a: Pair;
  let b: Pair;
  beforeAll(async () => { [a, b] = await Promise.all([pair(), pair()]); });

  it("round trip: iss = sub = site, aud = hub, 60 s lifetime, ULID jti", async () => {
    const token = await signAgentJwt("edge-1", a.privateKey, "kid-1", NOW);
    expect(decodeProtectedHeader(token)).toMatchObject({ alg: "EdDSA", kid: "kid-1" });
    const store = jtiStore();
    const p = await verifyAgentJwt(token, "edge-1", a.publicKey, store, NOW);
    expect(p).toMatchObject({ iss: "edge-1", sub: "edge-1", aud: HUB_AUDIENCE, iat: nowS, exp: nowS + AGENT_JWT_MAX_TTL_S });
    expect(p.jti).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    expect([...store.seen]).toEqual([[p.jti, nowS + AGENT_JWT_MAX_TTL_S]]);
    expect(claimedSite(token)).toBe("edge-1");
  });

  it("every token gets its own jti", async () => {
    const tokens = await Promise.all(Array.from({ length: 20 }, () => signAgentJwt("edge-1", a.privateKey, undefined, NOW)));
    expect(new Set(tokens.map((t) => decodeJwt(t).jti)).size).toBe(20);
  });

  it("AUTH_REPLAY: the same token presented twice", async () => {
    const token = await signAgentJwt("edge-1", a.privateKey, undefined, NOW);
    const store = jtiStore();
    await verifyAgentJwt(token, "edge-1", a.publicKey, store, NOW);
    await expectAuthCode(verifyAgentJwt(token, "edge-1", a.publicKey, store, at(1)), "AUTH_REPLAY");
    // A new token from the same agent is fine.
    await verifyAgentJwt(await signAgentJwt("edge-1", a.privateKey, undefined, NOW), "edge-1", a.publicKey, store, at(1));
  });

  it("AUTH_INVALID: expired (checked against `now`, with the leeway)", async () => {
    const token = await signAgentJwt("edge-1", a.privateKey, undefined, NOW);
    await verifyAgentJwt(token, "edge-1", a.publicKey, fresh, at(AGENT_JWT_MAX_TTL_S + AGENT_JWT_LEEWAY_S - 1));
    const err = await expectAuthCode(verifyAgentJwt(token, "edge-1", a.publicKey, fresh, at(AGENT_JWT_MAX_TTL_S + AGENT_JWT_LEEWAY_S)), "AUTH_INVALID");
    expect(err.message).toMatch(/exp/);
    await expectAuthCode(verifyAgentJwt(token, "edge-1", a.publicKey, fresh, at(3600)), "AUTH_INVALID");
  });

  it("clock skew: 30 s either way is tolerated, 90 s either way is refused", async () => {
    for (const skew of [-30, 30]) {
      const token = await signAgentJwt("edge-1", a.privateKey, undefined, at(skew));
      await expect(verifyAgentJwt(token, "edge-1", a.publicKey, fresh, NOW)).resolves.toMatchObject({ iss: "edge-1" });
    }
    for (const skew of [-90, 90]) {
      const token = await signAgentJwt("edge-1", a.privateKey, undefined, at(skew));
      await expectAuthCode(verifyAgentJwt(token, "edge-1", a.publicKey, fresh, NOW), "AUTH_INVALID");
    }
  });

  it("AUTH_INVALID: a token minted for the future is refused, so it cannot outlive the 60 s bound", async () => {
    const token = await craft("edge-1", { iat: nowS + 3600 }).sign(a.privateKey);
    await expectAuthCode(verifyAgentJwt(token, "edge-1", a.publicKey, fresh, NOW), "AUTH_INVALID");
  });

  it("AUTH_INVALID: wrong audience", async () => {
    const token = await craft("edge-1", { aud: "some-other-service" }).sign(a.privateKey);
    const err = await expectAuthCode(verifyAgentJwt(token, "edge-1", a.publicKey, fresh, NOW), "AUTH_INVALID");
    expect(err.message).toMatch(/aud/);
  });

  it("AUTH_INVALID: signed with another site's key", async () => {
    const token = await signAgentJwt("edge-1", b.privateKey, undefined, NOW);
    await expectAuthCode(verifyAgentJwt(token, "edge-1", a.publicKey, fresh, NOW), "AUTH_INVALID");
  });

  it("AUTH_INVALID: another site's token checked against this site", async () => {
    const token = await signAgentJwt("edge-2", a.privateKey, undefined, NOW);
    await expectAuthCode(verifyAgentJwt(token, "edge-1", a.publicKey, fresh, NOW), "AUTH_INVALID");
    const mixed = await craft("edge-1", { sub: "edge-2" }).sign(a.privateKey);
    await expectAuthCode(verifyAgentJwt(mixed, "edge-1", a.publicKey, fresh, NOW), "AUTH_INVALID");
  });

  it("AUTH_TTL: a validly signed token that lives longer than 60 s", async () => {
    const token = await craft("edge-1", { exp: nowS + AGENT_JWT_MAX_TTL_S + 1 }).sign(a.privateKey);
    const err = await expectAuthCode(verifyAgentJwt(token, "edge-1", a.publicKey, fresh, NOW), "AUTH_TTL");
    expect(err.message).toContain("60");
    await expectAuthCode(verifyAgentJwt(await craft("edge-1", { exp: nowS + 86400 }).sign(a.privateKey), "edge-1", a.publicKey, fresh, NOW), "AUTH_TTL");
  });

  it("AUTH_INVALID: no jti, or a symmetric algorithm", async () => {
    await expectAuthCode(verifyAgentJwt(await craft("edge-1", { jti: null }).sign(a.privateKey), "edge-1", a.publicKey, fresh, NOW), "AUTH_INVALID");
    const hs = await new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setIssuer("edge-1").setSubject("edge-1").setAudience(HUB_AUDIENCE)
      .setIssuedAt(nowS).setExpirationTime(nowS + 30).setJti("x").sign(new TextEncoder().encode("a shared secret of enough length!!"));
    await expectAuthCode(verifyAgentJwt(hs, "edge-1", a.publicKey, fresh, NOW), "AUTH_INVALID");
  });

  it("a replay is only recorded for a token that verified", async () => {
    const store = jtiStore();
    const forged = await signAgentJwt("edge-1", b.privateKey, undefined, NOW);
    await expectAuthCode(verifyAgentJwt(forged, "edge-1", a.publicKey, store, NOW), "AUTH_INVALID");
    expect(store.seen.size).toBe(0);
  });

  it("claimedSite: AUTH_MALFORMED for garbage or a token without iss", async () => {
    for (const t of ["", "not.a.jwt", "abc"]) await expectAuthCode(() => claimedSite(t), "AUTH_MALFORMED");
    const noIss = await new SignJWT({ sub: "x" }).setProtectedHeader({ alg: "EdDSA" }).sign(a.privateKey);
    await expectAuthCode(() => claimedSite(noIss), "AUTH_MALFORMED");
  });
});
