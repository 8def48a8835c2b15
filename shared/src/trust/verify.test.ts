import { createHash } from "node:crypto";
import { base64url, CompactSign } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { BundlePayload, MAX_BUNDLE_BYTES } from "../bundle/payload.ts";
import type { GeneralJws } from "./documents.ts";
import { VerifyError, type VerifyCode } from "./errors.ts";
import type { SigningKey } from "./keys.ts";
import { BUNDLE_TYP, signBundle } from "./sign.ts";
import {
  DAY_MS, HOUR_MS, iso, makeKey, makeKeys, makeTrustFixture, rootDocFor, type TestKey, type TrustFixture,
} from "./test-fixtures.ts";
import { pinRoot, rootHash, rotateRoot, updateTrust, verifyBundle, verifyKeysDocument, type TrustState } from "./verify.ts";

const NOW = new Date("2031-03-01T12:00:00.000Z");
const enc = new TextEncoder();

async function expectCode(p: Promise<unknown> | (() => unknown), code: VerifyCode): Promise<VerifyError> {
  let err: unknown;
  try { await (typeof p === "function" ? p() : p); } catch (e) { err = e; }
  expect(err, `expected a VerifyError ${code}`).toBeInstanceOf(VerifyError);
  expect((err as VerifyError).code).toBe(code);
  return err as VerifyError;
}

/** A refused bundle must leave the state exactly as it was (no partial update, no mutation). */
async function refuse(state: TrustState, jws: string, code: VerifyCode, now = NOW, maxBytes?: number) {
  const before = structuredClone(state);
  const err = await expectCode(verifyBundle(state, jws, now, maxBytes), code);
  expect(state).toEqual(before);
  expect(state.bundleVersion).toBe(before.bundleVersion);
  return err;
}

/** Signs arbitrary bytes as a compact JWS with the given header (bypassing signBundle's validation). */
async function signRaw(bytes: Uint8Array | string, key: SigningKey, header: Record<string, unknown> = { alg: "EdDSA", kid: key.kid, typ: BUNDLE_TYP }) {
  return new CompactSign(typeof bytes === "string" ? enc.encode(bytes) : bytes)
    .setProtectedHeader(header as { alg: string })
    .sign(key.privateKey);
}

const segments = (jws: string) => jws.split(".") as [string, string, string];

describe("verifyBundle: acceptance", () => {
  let t: TrustFixture;
  beforeAll(async () => { t = await makeTrustFixture({ now: NOW, site: "edge-eu-1" }); });

  it("accepts a bundle signed by a current bundle key and advances bundleVersion", async () => {
    const jws = await t.bundle({ version: 4 });
    const r = await verifyBundle(t.state, jws, NOW);
    expect(r.payload).toEqual(BundlePayload.parse(t.payload({ version: 4 })));
    expect(r.kid).toBe(t.bundleKey.kid);
    expect(r.state.bundleVersion).toBe(4);
    expect(r.state.keys).toEqual(t.state.keys);
    // The input state is not touched: the caller decides when to persist the new one.
    expect(t.state.bundleVersion).toBe(0);
  });

  it("walks versions forward and refuses to go back from the new floor", async () => {
    const s1 = (await verifyBundle(t.state, await t.bundle({ version: 1 }), NOW)).state;
    const s5 = (await verifyBundle(s1, await t.bundle({ version: 5 }), NOW)).state;
    expect([s1.bundleVersion, s5.bundleVersion]).toEqual([1, 5]);
    await refuse(s5, await t.bundle({ version: 3 }), "BUNDLE_ROLLBACK");
    expect((await verifyBundle(s5, await t.bundle({ version: 6 }), NOW)).state.bundleVersion).toBe(6);
  });

  it("fills schema defaults in the verified payload", async () => {
    const r = await verifyBundle(t.state, await t.bundle({ spec: { lxd: { instances: [{ name: "web", image: { alias: "debian" } }] } } }), NOW);
    expect(r.payload.spec.lxd.instances[0]).toMatchObject({ type: "container", profiles: ["default"], state: "running" });
    expect(r.payload.spec.agent.pollIntervalSeconds).toBe(30);
  });
});

describe("verifyBundle: refusals", () => {
  let t: TrustFixture;
  let state: TrustState; // has already accepted version 3
  let other: TestKey;
  beforeAll(async () => {
    t = await makeTrustFixture({ now: NOW, site: "edge-eu-1" });
    state = (await verifyBundle(t.state, await t.bundle({ version: 3 }), NOW)).state;
    other = await makeKey();
  });

  describe("BUNDLE_BAD_SIGNATURE", () => {
    it("payload changed after signing", async () => {
      const [h, p, s] = segments(await t.bundle({ version: 4 }));
      const body = JSON.parse(new TextDecoder().decode(base64url.decode(p)));
      body.spec = { ...body.spec, host: { packages: [{ name: "backdoor", version: "1.0" }] } };
      await refuse(state, `${h}.${base64url.encode(JSON.stringify(body))}.${s}`, "BUNDLE_BAD_SIGNATURE");
    });

    it("signature bytes flipped", async () => {
      const [h, p, s] = segments(await t.bundle({ version: 4 }));
      for (const i of [0, 31, 63]) {
        const sig = base64url.decode(s);
        sig[i]! ^= 0x01;
        await refuse(state, `${h}.${p}.${base64url.encode(sig)}`, "BUNDLE_BAD_SIGNATURE");
      }
    });

    it("signature made by another key that claims the bundle key's kid", async () => {
      const forged = await signBundle(t.payload({ version: 4 }), { kid: t.bundleKey.kid, privateKey: other.signer.privateKey });
      await refuse(state, forged, "BUNDLE_BAD_SIGNATURE");
    });

    it("signature of one bundle grafted onto another", async () => {
      const [h, , s] = segments(await t.bundle({ version: 4 }));
      const [, p2] = segments(await t.bundle({ version: 5 }));
      await refuse(state, `${h}.${p2}.${s}`, "BUNDLE_BAD_SIGNATURE");
    });
  });

  it("BUNDLE_UNKNOWN_KEY: kid not in the keys document", async () => {
    const err = await refuse(state, await t.bundle({ version: 4 }, other.signer), "BUNDLE_UNKNOWN_KEY");
    expect(err.message).toContain(other.kid);
  });

  it("BUNDLE_UNKNOWN_KEY: no keys document trusted yet", async () => {
    await refuse({ ...state, keys: null }, await t.bundle({ version: 4 }), "BUNDLE_UNKNOWN_KEY");
  });

  it("BUNDLE_RETIRED_KEY: the key is listed in retired (even if still listed in keys)", async () => {
    const next = await makeKey();
    for (const keys of [
      [{ kid: next.kid, publicKey: next.publicJwk, roles: ["bundle" as const] }],
      [{ kid: t.bundleKey.kid, publicKey: t.bundleKey.publicJwk, roles: ["bundle" as const] }],
    ]) {
      const keysJws = await t.signKeys({ version: 2, keys, retired: [{ kid: t.bundleKey.kid, reason: "compromised" }] });
      const s2 = await updateTrust(state, { roots: [t.rootJws], keys: keysJws }, NOW);
      expect(s2.keys?.version).toBe(2);
      await refuse(s2, await t.bundle({ version: 4, keysVersion: 2 }), "BUNDLE_RETIRED_KEY");
    }
  });

  it("BUNDLE_KEY_ROLE: a listed key without the bundle role", async () => {
    const keysJws = await t.signKeys({ version: 2, keys: [{ kid: t.bundleKey.kid, publicKey: t.bundleKey.publicJwk, roles: [] }] });
    const s2 = await updateTrust(state, { roots: [t.rootJws], keys: keysJws }, NOW);
    await refuse(s2, await t.bundle({ version: 4 }), "BUNDLE_KEY_ROLE");
  });

  it("BUNDLE_EXPIRED: refused at and after expiresAt, accepted just before", async () => {
    const jws = await t.bundle({ version: 4, expiresAt: iso(NOW.getTime() + HOUR_MS) });
    expect((await verifyBundle(state, jws, new Date(NOW.getTime() + HOUR_MS - 1))).state.bundleVersion).toBe(4);
    await refuse(state, jws, "BUNDLE_EXPIRED", new Date(NOW.getTime() + HOUR_MS));
    await refuse(state, jws, "BUNDLE_EXPIRED", new Date(NOW.getTime() + 2 * DAY_MS));
  });

  it("BUNDLE_ROLLBACK: same version and lower versions", async () => {
    expect(state.bundleVersion).toBe(3);
    await refuse(state, await t.bundle({ version: 3 }), "BUNDLE_ROLLBACK");
    await refuse(state, await t.bundle({ version: 2 }), "BUNDLE_ROLLBACK");
    await refuse(state, await t.bundle({ version: 1 }), "BUNDLE_ROLLBACK");
  });

  it("BUNDLE_WRONG_SITE: a validly signed bundle for another site", async () => {
    const err = await refuse(state, await t.bundle({ version: 4, site: "edge-us-1" }), "BUNDLE_WRONG_SITE");
    expect(err.message).toContain("edge-us-1");
  });

  it("BUNDLE_KEYS_VERSION: the bundle needs a newer keys document", async () => {
    await refuse(state, await t.bundle({ version: 4, keysVersion: 2 }), "BUNDLE_KEYS_VERSION");
  });

  describe("BUNDLE_TOO_LARGE", () => {
    it("refuses an oversized JWS before parsing it (cheap pre-check)", async () => {
      // Not even a JWS: if it were parsed first this would be BUNDLE_MALFORMED.
      await refuse(state, "x".repeat(Math.ceil(MAX_BUNDLE_BYTES * 1.4) + 1025), "BUNDLE_TOO_LARGE");
      await refuse(state, "x".repeat(3000), "BUNDLE_TOO_LARGE", NOW, 1000);
      await refuse(state, "x".repeat(3000), "BUNDLE_MALFORMED", NOW, 2000);
    });

    it("refuses a signed payload over maxBytes, accepts one exactly at it", async () => {
      const jws = await t.bundle({ version: 4, spec: { lxd: { profiles: [{ name: "big", description: "d".repeat(1000) }] } } });
      const size = base64url.decode(segments(jws)[1]).length;
      const err = await refuse(state, jws, "BUNDLE_TOO_LARGE", NOW, size - 1);
      expect(err.message).toContain(String(size));
      expect((await verifyBundle(state, jws, NOW, size)).state.bundleVersion).toBe(4);
    });

    it("refuses a signed payload over the default 1 MiB limit", async () => {
      const profiles = Array.from({ length: 1000 }, (_, i) => ({ name: `p${i}`, description: "d".repeat(1024) }));
      const jws = await t.bundle({ version: 4, spec: { lxd: { profiles } } });
      const size = base64url.decode(segments(jws)[1]).length;
      expect(size).toBeGreaterThan(MAX_BUNDLE_BYTES);
      await refuse(state, jws, "BUNDLE_TOO_LARGE");
    });
  });

  describe("BUNDLE_MALFORMED", () => {
    it("not a compact JWS", async () => {
      for (const s of ["", "hello", "a.b", "a.b.c", "....", `${base64url.encode("{}")}.e30.`]) await refuse(state, s, "BUNDLE_MALFORMED");
    });

    it("a JWS with extra segments (JWE-shaped)", async () => {
      const jws = await t.bundle({ version: 4 });
      await refuse(state, `${jws}.x.y`, "BUNDLE_MALFORMED");
    });

    it("header with the wrong typ, no kid, or alg none", async () => {
      const k = t.bundleKey.signer;
      await refuse(state, await signRaw(JSON.stringify(t.payload({ version: 4 })), k, { alg: "EdDSA", kid: k.kid, typ: "JWT" }), "BUNDLE_MALFORMED");
      await refuse(state, await signRaw(JSON.stringify(t.payload({ version: 4 })), k, { alg: "EdDSA", typ: BUNDLE_TYP }), "BUNDLE_MALFORMED");
      const none = `${base64url.encode(JSON.stringify({ alg: "none", kid: k.kid, typ: BUNDLE_TYP }))}.${base64url.encode(JSON.stringify(t.payload({ version: 4 })))}.`;
      await refuse(state, none, "BUNDLE_MALFORMED");
    });

    it("a correctly signed payload that is not JSON", async () => {
      await refuse(state, await signRaw("site=edge-eu-1;version=4", t.bundleKey.signer), "BUNDLE_MALFORMED");
      await refuse(state, await signRaw(new Uint8Array([0xff, 0xfe, 0x00, 0x7b]), t.bundleKey.signer), "BUNDLE_MALFORMED");
    });

    it("a correctly signed JSON payload that fails the schema, naming the field", async () => {
      const good = BundlePayload.parse(t.payload({ version: 4 }));
      const cases: [unknown, string][] = [
        [{ ...good, apiVersion: "outpost/v2" }, "apiVersion"],
        [{ ...good, extra: true }, "extra"],
        [{ ...good, version: 4.5 }, "version"],
        [{ ...good, spec: { ...good.spec, lxd: { ...good.spec.lxd, instances: [{ name: "../etc", image: { alias: "x" } }] } } }, "name"],
        [[good], ""],
        [null, ""],
      ];
      for (const [body, field] of cases) {
        const err = await refuse(state, await signRaw(JSON.stringify(body), t.bundleKey.signer), "BUNDLE_MALFORMED");
        expect(err.message).toContain(field);
      }
    });
  });
});

describe("keys documents", () => {
  let t: TrustFixture; // 2-of-3 root
  beforeAll(async () => { t = await makeTrustFixture({ now: NOW, rootKeys: 3, threshold: 2 }); });
  const signers = (...i: number[]) => i.map((n) => t.rootKeys[n]!.signer);

  it("accepts any 2 of the 3 root keys", async () => {
    for (const pair of [[0, 1], [1, 2], [2, 0]]) {
      const doc = await verifyKeysDocument(t.rootDoc, t.keysDoc, await t.signKeys({ version: 2 }, signers(...pair)), NOW);
      expect(doc.version).toBe(2);
    }
  });

  it("KEYS_THRESHOLD: only one root signature of a 2-of-3 root", async () => {
    const err = await expectCode(verifyKeysDocument(t.rootDoc, t.keysDoc, await t.signKeys({ version: 2 }, signers(1)), NOW), "KEYS_THRESHOLD");
    expect(err.message).toContain("1 of 2");
  });

  it("KEYS_THRESHOLD: the same root key signing twice counts once", async () => {
    await expectCode(verifyKeysDocument(t.rootDoc, t.keysDoc, await t.signKeys({ version: 2 }, signers(0, 0)), NOW), "KEYS_THRESHOLD");
  });

  it("KEYS_THRESHOLD: signed by non-root keys (including the online bundle key)", async () => {
    const strangers = await makeKeys(2);
    await expectCode(verifyKeysDocument(t.rootDoc, t.keysDoc, await t.signKeys({ version: 2 }, strangers.map((k) => k.signer)), NOW), "KEYS_THRESHOLD");
    await expectCode(verifyKeysDocument(t.rootDoc, t.keysDoc, await t.signKeys({ version: 2 }, [t.bundleKey.signer, ...signers(0)]), NOW), "KEYS_THRESHOLD");
  });

  it("KEYS_THRESHOLD: a stranger's signature claiming a root kid does not count", async () => {
    const stranger = await makeKey();
    const forged = await t.signKeys({ version: 2 }, [...signers(0), { kid: t.rootKeys[1]!.kid, privateKey: stranger.signer.privateKey }]);
    await expectCode(verifyKeysDocument(t.rootDoc, t.keysDoc, forged, NOW), "KEYS_THRESHOLD");
  });

  it("KEYS_THRESHOLD: payload swapped after the root signed it", async () => {
    const signed = await t.signKeys({ version: 2 }, signers(0, 1));
    const other = await t.signKeys({ version: 3, keys: [] }, signers(2));
    const swapped: GeneralJws = { payload: other.payload, signatures: signed.signatures };
    await expectCode(verifyKeysDocument(t.rootDoc, t.keysDoc, swapped, NOW), "KEYS_THRESHOLD");
  });

  it("KEYS_EXPIRED: refused at and after expiresAt", async () => {
    const jws = await t.signKeys({ version: 2, expiresAt: iso(NOW.getTime() + HOUR_MS) }, signers(0, 1));
    expect((await verifyKeysDocument(t.rootDoc, t.keysDoc, jws, new Date(NOW.getTime() + HOUR_MS - 1))).version).toBe(2);
    await expectCode(verifyKeysDocument(t.rootDoc, t.keysDoc, jws, new Date(NOW.getTime() + HOUR_MS)), "KEYS_EXPIRED");
  });

  it("KEYS_ROLLBACK: older than the trusted one (the same version may be served again)", async () => {
    const v3 = await verifyKeysDocument(t.rootDoc, null, await t.signKeys({ version: 3 }), NOW);
    await expectCode(verifyKeysDocument(t.rootDoc, v3, await t.signKeys({ version: 2 }), NOW), "KEYS_ROLLBACK");
    expect((await verifyKeysDocument(t.rootDoc, v3, await t.signKeys({ version: 3 }), NOW)).version).toBe(3);
  });

  it("KEYS_MALFORMED: not a general JWS, or a payload that is not a keys document", async () => {
    await expectCode(verifyKeysDocument(t.rootDoc, null, "eyJ.eyJ.sig", NOW), "KEYS_MALFORMED");
    await expectCode(verifyKeysDocument(t.rootDoc, null, { payload: "x", signatures: [] }, NOW), "KEYS_MALFORMED");
    await expectCode(verifyKeysDocument(t.rootDoc, null, { payload: base64url.encode("not json"), signatures: t.keysJws.signatures }, NOW), "KEYS_MALFORMED");
    await expectCode(verifyKeysDocument(t.rootDoc, null, t.rootJws, NOW), "KEYS_MALFORMED"); // a root document is not a keys document
  });

  it("updateTrust accepts a newer keys document and leaves the old state alone", async () => {
    const next = await makeKey();
    const served = { roots: [t.rootJws], keys: await t.signKeys({ version: 2, keys: [{ kid: next.kid, publicKey: next.publicJwk, roles: ["bundle"] }] }) };
    const s2 = await updateTrust(t.state, served, NOW);
    expect(s2.keys?.version).toBe(2);
    expect(t.state.keys?.version).toBe(1);
    // The new online key now signs bundles; the old one is no longer known.
    expect((await verifyBundle(s2, await t.bundle({ keysVersion: 2 }, next.signer), NOW)).kid).toBe(next.kid);
    await expectCode(verifyBundle(s2, await t.bundle({}), NOW), "BUNDLE_UNKNOWN_KEY");
  });

  it("updateTrust refuses a keys rollback, an expired or under-signed keys document, leaving the state as it was", async () => {
    const s2 = await updateTrust(t.state, { roots: [t.rootJws], keys: await t.signKeys({ version: 2 }) }, NOW);
    const before = structuredClone(s2);
    await expectCode(updateTrust(s2, { roots: [t.rootJws], keys: await t.signKeys({ version: 1 }) }, NOW), "KEYS_ROLLBACK");
    await expectCode(updateTrust(s2, { roots: [t.rootJws], keys: await t.signKeys({ version: 3, expiresAt: iso(NOW.getTime() - 1) }) }, NOW), "KEYS_EXPIRED");
    await expectCode(updateTrust(s2, { roots: [t.rootJws], keys: await t.signKeys({ version: 3 }, signers(2)) }, NOW), "KEYS_THRESHOLD");
    expect(s2).toEqual(before);
  });

  it("KEYS_EXPIRED: verifyBundle refuses new bundles once the trusted keys document has expired", async () => {
    // A frozen agent (fed an old keys document) must not trust its key list forever: a retired or
    // compromised online key would stay valid. It keeps enforcing its last good bundle instead.
    const jws = await t.bundle({ expiresAt: iso(NOW.getTime() + 60 * DAY_MS) });
    const keysExpiry = Date.parse(t.keysDoc.expiresAt);
    expect((await verifyBundle(t.state, jws, new Date(keysExpiry - 1))).state.bundleVersion).toBe(1);
    const before = structuredClone(t.state);
    await expectCode(verifyBundle(t.state, jws, new Date(keysExpiry)), "KEYS_EXPIRED");
    expect(t.state).toEqual(before);
  });
});

describe("root pinning and rotation", () => {
  let t: TrustFixture; // v1: 2-of-3
  let v2Keys: TestKey[];
  let v3Keys: TestKey[];
  beforeAll(async () => {
    t = await makeTrustFixture({ now: NOW, rootKeys: 3, threshold: 2 });
    [v2Keys, v3Keys] = await Promise.all([makeKeys(3), makeKeys(2)]);
  });
  const old = (...i: number[]) => i.map((n) => t.rootKeys[n]!.signer);
  const nu = (...i: number[]) => i.map((n) => v2Keys[n]!.signer);

  it("pinRoot accepts the root whose hash the enrollment token pins (case-insensitive hex)", () => {
    expect(pinRoot(t.rootJws, t.rootHash)).toEqual(t.rootDoc);
    expect(pinRoot(t.rootJws, t.rootHash.toUpperCase()).version).toBe(1);
  });

  it("pinRoot: ROOT_HASH_MISMATCH for a wrong hash or a different root", async () => {
    await expectCode(() => pinRoot(t.rootJws, "0".repeat(64)), "ROOT_HASH_MISMATCH");
    await expectCode(() => pinRoot(t.rootJws, t.rootHash.slice(0, 63)), "ROOT_HASH_MISMATCH");
    const impostor = await makeTrustFixture({ now: NOW });
    await expectCode(() => pinRoot(impostor.rootJws, t.rootHash), "ROOT_HASH_MISMATCH");
  });

  it("pinRoot: ROOT_MALFORMED for something that is not a general JWS", async () => {
    await expectCode(() => pinRoot("abc", t.rootHash), "ROOT_MALFORMED");
    await expectCode(() => pinRoot({ payload: t.rootJws.payload, signatures: [] }, t.rootHash), "ROOT_MALFORMED");
  });

  it("rootHash is the sha256 of the signed root payload: stable, independent of who signed", async () => {
    expect(rootHash(t.rootJws)).toBe(t.rootHash);
    expect(t.rootHash).toMatch(/^[a-f0-9]{64}$/);
    expect(t.rootHash).toBe(createHash("sha256").update(base64url.decode(t.rootJws.payload)).digest("hex"));
    const resigned = await t.signRoot(rootDocFor(t.rootKeys, 2), old(1, 2));
    expect(rootHash(resigned)).toBe(t.rootHash);
    const v2 = await t.signRoot(rootDocFor(t.rootKeys, 2, 2), old(0, 1));
    expect(rootHash(v2)).not.toBe(t.rootHash);
  });

  it("rotation 1 -> 2 signed by the old and the new threshold, through updateTrust", async () => {
    const v2 = await t.signRoot(rootDocFor(v2Keys, 2, 2), [...old(0, 2), ...nu(1, 2)]);
    const keys = await t.signKeys({ version: 2 }, nu(0, 1));
    const s = await updateTrust(t.state, { roots: [t.rootJws, v2], keys }, NOW);
    expect(s.root.version).toBe(2);
    expect(s.root.keys.map((k) => k.kid)).toEqual(v2Keys.map((k) => k.kid));
    expect(s.keys?.version).toBe(2);
    expect(t.state.root.version).toBe(1);
    // Bundles keep flowing under the new root.
    expect((await verifyBundle(s, await t.bundle({ keysVersion: 2 }), NOW)).state.bundleVersion).toBe(1);
  });

  it("rotation that keeps some keys (one compromised key rotated out)", async () => {
    const fresh = await makeKey();
    const kept = [t.rootKeys[0]!, t.rootKeys[1]!, fresh];
    const v2 = await t.signRoot(rootDocFor(kept, 2, 2), old(0, 1));
    const next = await rotateRoot(t.rootDoc, v2);
    expect(next.keys.map((k) => k.kid)).not.toContain(t.rootKeys[2]!.kid);
    // The rotated-out key can no longer help reach the threshold.
    await expectCode(verifyKeysDocument(next, null, await t.signKeys({ version: 2 }, old(2, 0)), NOW), "KEYS_THRESHOLD");
  });

  it("chain 1 -> 2 -> 3 from a pinned v1, roots served in any order", async () => {
    const v2 = await t.signRoot(rootDocFor(v2Keys, 2, 2), [...old(0, 1), ...nu(0, 1)]);
    const v3 = await t.signRoot(rootDocFor(v3Keys, 1, 3), [...nu(1, 2), v3Keys[0]!.signer]);
    const keys = await t.signKeys({ version: 5 }, [v3Keys[1]!.signer]);
    const s = await updateTrust(t.state, { roots: [v3, t.rootJws, v2], keys }, NOW);
    expect(s.root.version).toBe(3);
    expect(s.root.threshold).toBe(1);
    expect(s.keys?.version).toBe(5);
    // An agent already on v2 follows only the last step.
    const onV2 = await updateTrust(t.state, { roots: [t.rootJws, v2], keys: await t.signKeys({ version: 2 }, nu(0, 2)) }, NOW);
    expect((await updateTrust(onV2, { roots: [t.rootJws, v2, v3], keys }, NOW)).root.version).toBe(3);
  });

  it("a root rotation does not reset the keys rollback floor", async () => {
    const onV3 = await updateTrust(t.state, { roots: [t.rootJws], keys: await t.signKeys({ version: 3 }) }, NOW);
    const v2 = await t.signRoot(rootDocFor(v2Keys, 2, 2), [...old(0, 1), ...nu(0, 1)]);
    await expectCode(updateTrust(onV3, { roots: [t.rootJws, v2], keys: await t.signKeys({ version: 2 }, nu(0, 1)) }, NOW), "KEYS_ROLLBACK");
    expect((await updateTrust(onV3, { roots: [t.rootJws, v2], keys: await t.signKeys({ version: 3 }, nu(0, 1)) }, NOW)).root.version).toBe(2);
  });

  it("ROOT_THRESHOLD: signed only by the new keys", async () => {
    const v2 = await t.signRoot(rootDocFor(v2Keys, 2, 2), nu(0, 1, 2));
    const err = await expectCode(rotateRoot(t.rootDoc, v2), "ROOT_THRESHOLD");
    expect(err.message).toContain("old 0/2");
    await expectCode(updateTrust(t.state, { roots: [t.rootJws, v2], keys: await t.signKeys({ version: 2 }, nu(0, 1)) }, NOW), "ROOT_THRESHOLD");
  });

  it("ROOT_THRESHOLD: signed only by the old keys", async () => {
    const v2 = await t.signRoot(rootDocFor(v2Keys, 2, 2), old(0, 1, 2));
    const err = await expectCode(rotateRoot(t.rootDoc, v2), "ROOT_THRESHOLD");
    expect(err.message).toContain("new 0/2");
    await expectCode(updateTrust(t.state, { roots: [t.rootJws, v2], keys: await t.signKeys({ version: 2 }, old(0, 1)) }, NOW), "ROOT_THRESHOLD");
  });

  it("ROOT_THRESHOLD: old threshold met but only one of two new signatures", async () => {
    const v2 = await t.signRoot(rootDocFor(v2Keys, 2, 2), [...old(0, 1), ...nu(2)]);
    await expectCode(rotateRoot(t.rootDoc, v2), "ROOT_THRESHOLD");
  });

  it("ROOT_VERSION: skipping a version, or replaying the same version", async () => {
    const v3 = await t.signRoot(rootDocFor(v2Keys, 2, 3), [...old(0, 1), ...nu(0, 1)]);
    const err = await expectCode(rotateRoot(t.rootDoc, v3), "ROOT_VERSION");
    expect(err.message).toContain("trusted 1, got 3");
    await expectCode(updateTrust(t.state, { roots: [t.rootJws, v3], keys: await t.signKeys({ version: 2 }, nu(0, 1)) }, NOW), "ROOT_VERSION");
    const v1b = await t.signRoot(rootDocFor(v2Keys, 2, 1), [...old(0, 1), ...nu(0, 1)]);
    await expectCode(rotateRoot(t.rootDoc, v1b), "ROOT_VERSION");
  });

  it("ROOT_MALFORMED: a served root that is not a root document", async () => {
    await expectCode(updateTrust(t.state, { roots: [t.rootJws, t.keysJws], keys: t.keysJws }, NOW), "ROOT_MALFORMED");
  });

  it("after rotation a keys document signed only by the old root is refused, and nothing changes", async () => {
    const v2 = await t.signRoot(rootDocFor(v2Keys, 2, 2), [...old(0, 1), ...nu(0, 1)]);
    const before = structuredClone(t.state);
    const err = await expectCode(updateTrust(t.state, { roots: [t.rootJws, v2], keys: await t.signKeys({ version: 2 }, old(0, 1, 2)) }, NOW), "KEYS_THRESHOLD");
    expect(err.message).toContain("0 of 2");
    expect(t.state).toEqual(before);
    expect(t.state.root.version).toBe(1);
    // Even the keys document the agent already trusts must be re-vouched for by the new root.
    await expectCode(updateTrust(t.state, { roots: [t.rootJws, v2], keys: t.keysJws }, NOW), "KEYS_THRESHOLD");
  });

  it("a pinned root ignores served roots at or below its version, even forged ones", async () => {
    const forgedV1 = await t.signRoot(rootDocFor(v2Keys, 1, 1), nu(0));
    const s = await updateTrust(t.state, { roots: [forgedV1], keys: await t.signKeys({ version: 2 }) }, NOW);
    expect(s.root).toEqual(t.rootDoc);
    await expectCode(updateTrust(t.state, { roots: [forgedV1], keys: await t.signKeys({ version: 2 }, nu(0)) }, NOW), "KEYS_THRESHOLD");
  });
});
