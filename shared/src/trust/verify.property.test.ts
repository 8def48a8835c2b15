import { base64url, CompactSign } from "jose";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { BundlePayload } from "../bundle/payload.ts";
import type { Artifact, SpecInput } from "../bundle/spec.ts";
import { VerifyError } from "./errors.ts";
import { BUNDLE_TYP } from "./sign.ts";
import { DAY_MS, iso, makeTrustFixture, type TrustFixture } from "./test-fixtures.ts";
import { verifyArtifact, verifyBundle } from "./verify.ts";

const NOW = new Date("2031-03-01T12:00:00.000Z");
const enc = new TextEncoder();

// --- Arbitraries built by hand from the zod shapes in bundle/spec.ts (small on purpose) -----------
const alnum = fc.constantFrom(..."abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");
const nameChar = fc.constantFrom(..."abcxyzABC0189._-");
const name = fc.tuple(alnum, fc.string({ unit: nameChar, maxLength: 12 })).map(([a, b]) => a + b);
const stringMap = fc.dictionary(fc.string({ minLength: 1, maxLength: 12 }).filter((k) => k !== "__proto__"), fc.string({ maxLength: 20 }), { maxKeys: 3 });
const hex = (min: number, max: number) => fc.string({ unit: fc.constantFrom(..."0123456789abcdef"), minLength: min, maxLength: max });

const lxd = fc.record({
  storagePools: fc.array(fc.record({ name, driver: fc.constantFrom("dir", "zfs", "btrfs", "lvm", "ceph", "cephfs"), config: stringMap }, { requiredKeys: ["name", "driver"] }), { maxLength: 2 }),
  networks: fc.array(fc.record({ name, type: fc.constantFrom("bridge", "ovn", "macvlan", "sriov", "physical"), config: stringMap }, { requiredKeys: ["name"] }), { maxLength: 2 }),
  profiles: fc.array(fc.record({ name, description: fc.string({ maxLength: 30 }), config: stringMap, devices: fc.dictionary(name, stringMap, { maxKeys: 2 }) }, { requiredKeys: ["name"] }), { maxLength: 2 }),
  instances: fc.array(fc.record({
    name,
    type: fc.constantFrom("container", "virtual-machine"),
    image: fc.oneof(hex(12, 64).map((fingerprint) => ({ fingerprint })), name.map((alias) => ({ alias })), name.map((artifact) => ({ artifact }))),
    profiles: fc.array(name, { maxLength: 3 }),
    config: stringMap,
    state: fc.constantFrom("running", "stopped"),
  }, { requiredKeys: ["name", "image"] }), { maxLength: 3 }),
}, { requiredKeys: [] });

const mac = fc.array(hex(2, 2), { minLength: 6, maxLength: 6 }).map((p) => p.join(":"));
const ovn = fc.record({
  switches: fc.array(fc.record({
    name, subnet: fc.constant("10.0.0.0/24"),
    ports: fc.array(fc.record({ name, addresses: fc.array(fc.constantFrom("dynamic", "00:00:00:00:00:01 10.0.0.10"), { maxLength: 2 }) }, { requiredKeys: ["name"] }), { maxLength: 2 }),
  }, { requiredKeys: ["name"] }), { maxLength: 2 }),
  routers: fc.array(fc.record({ name, ports: fc.array(fc.record({ name, mac, networks: fc.constant(["10.0.0.1/24"]) }), { maxLength: 2 }) }, { requiredKeys: ["name"] }), { maxLength: 2 }),
  portGroups: fc.array(fc.record({
    name: fc.constantFrom("pg_web", "pg_db", "_all"),
    ports: fc.array(name, { maxLength: 2 }),
    acls: fc.array(fc.record({
      direction: fc.constantFrom("from-lport", "to-lport"), priority: fc.integer({ min: 0, max: 32767 }),
      match: fc.constantFrom("ip4", "tcp.dst == 22"), action: fc.constantFrom("allow", "allow-related", "allow-stateless", "drop", "reject"),
    }), { maxLength: 2 }),
  }, { requiredKeys: ["name"] }), { maxLength: 2 }),
}, { requiredKeys: [] });

const ceph = fc.record({
  pools: fc.array(fc.record({ name, size: fc.integer({ min: 1, max: 10 }), pgAutoscale: fc.constantFrom("on", "off", "warn"), application: fc.constantFrom("rbd", "cephfs", "rgw") }, { requiredKeys: ["name"] }), { maxLength: 2 }),
  rbdImages: fc.array(fc.record({ pool: name, name, sizeMiB: fc.integer({ min: 1, max: 1 << 20 }) }), { maxLength: 2 }),
}, { requiredKeys: [] });

const host = fc.record({
  packages: fc.array(fc.record({ name: fc.constantFrom("lxd", "ceph-common", "ovn-host", "linux-image-amd64"), version: fc.constantFrom("1.0", "5.21.1-1", "2:1.2~rc1+deb12u1"), disruptive: fc.boolean() }, { requiredKeys: ["name", "version"] }), { maxLength: 2 }),
  securityUpdates: fc.record({ enabled: fc.boolean(), disruptive: fc.boolean() }, { requiredKeys: [] }),
}, { requiredKeys: [] });

const agent = fc.record({
  pollIntervalSeconds: fc.integer({ min: 1, max: 3600 }),
  healIntervalSeconds: fc.integer({ min: 1, max: 3600 }),
  maintenanceWindows: fc.array(fc.record({ cron: fc.constantFrom("0 2 * * *", "30 1 * * 6"), durationMinutes: fc.integer({ min: 1, max: 1440 }), timezone: fc.constantFrom("UTC", "Europe/Paris") }, { requiredKeys: ["cron", "durationMinutes"] }), { maxLength: 2 }),
}, { requiredKeys: [] });

const specArb: fc.Arbitrary<SpecInput> = fc.record({ lxd, ovn, ceph, host, agent }, { requiredKeys: [] }) as fc.Arbitrary<SpecInput>;

const artifactArb = fc.record({ name, sha256: hex(64, 64), size: fc.nat({ max: 2 ** 40 }), url: fc.string({ maxLength: 40 }) });

describe("bundle verification properties (real Ed25519)", () => {
  let t: TrustFixture;
  beforeAll(async () => { t = await makeTrustFixture({ now: NOW, site: "prop-site" }); });

  it("sign -> verify round-trips any valid spec to the same payload", async () => {
    await fc.assert(fc.asyncProperty(
      specArb, fc.integer({ min: 1, max: 1_000_000 }), fc.array(artifactArb, { maxLength: 2 }),
      async (spec, version, artifacts) => {
        const input = t.payload({ spec, version, artifacts });
        const expected = BundlePayload.parse(input);
        const r = await verifyBundle(t.state, await t.bundle({ spec, version, artifacts }), NOW);
        expect(r.payload).toEqual(expected);
        expect(r.state.bundleVersion).toBe(version);
        // What was signed is exactly what a JSON round trip of the parsed payload gives.
        expect(JSON.parse(JSON.stringify(r.payload))).toEqual(expected);
      }), { numRuns: 60 });
  });

  it("no single-byte change to a signed JWS is ever accepted with a different payload", async () => {
    const jws = await t.bundle({ version: 7, spec: { lxd: { instances: [{ name: "web", image: { alias: "debian" } }] } } });
    const original = BundlePayload.parse(t.payload({ version: 7, spec: { lxd: { instances: [{ name: "web", image: { alias: "debian" } }] } } }));
    const sigStart = jws.lastIndexOf(".") + 1;
    let accepted = 0;
    await fc.assert(fc.asyncProperty(
      fc.nat({ max: jws.length - 1 }), fc.integer({ min: 1, max: 255 }),
      async (i, delta) => {
        const mutated = jws.slice(0, i) + String.fromCharCode((jws.charCodeAt(i) + delta) % 256) + jws.slice(i + 1);
        let r;
        try { r = await verifyBundle(t.state, mutated, NOW); } catch (e) {
          expect(e).toBeInstanceOf(VerifyError);
          return;
        }
        // base64url's last character carries padding bits: changing only those leaves the same
        // signature bytes. Anything accepted must therefore be a signature-segment no-op.
        accepted++;
        expect(i).toBeGreaterThanOrEqual(sigStart);
        expect(r.payload).toEqual(original);
      }), { numRuns: 400 });
    expect(accepted).toBeLessThan(20);
  });

  it("verifyBundle throws nothing but VerifyError for arbitrary strings", async () => {
    const b64 = (a: fc.Arbitrary<string>) => a.map((s) => base64url.encode(s));
    const header = fc.oneof(
      fc.constant({ alg: "EdDSA", typ: BUNDLE_TYP, kid: "" }),
      fc.record({ alg: fc.constantFrom("EdDSA", "none", "HS256", "RS256"), typ: fc.constantFrom(BUNDLE_TYP, "JWT"), kid: fc.oneof(fc.string(), fc.integer()) }, { requiredKeys: [] }),
      fc.jsonValue(),
    ).map((h) => JSON.stringify(h && typeof h === "object" && "kid" in h && h.kid === "" ? { ...h, kid: t.bundleKey.kid } : h));
    const input = fc.oneof(
      fc.string(),
      fc.string({ unit: "binary" }),
      fc.string({ unit: fc.constantFrom(..."eyJ.-_AZaz09=") }),
      fc.tuple(b64(header), b64(fc.oneof(fc.string(), fc.jsonValue().map((v) => JSON.stringify(v)))), fc.string({ unit: fc.constantFrom(..."AZaz09-_") }))
        .map(([h, p, s]) => `${h}.${p}.${s}`),
    );
    await fc.assert(fc.asyncProperty(input, async (s) => {
      await expect(verifyBundle(t.state, s, NOW)).rejects.toBeInstanceOf(VerifyError);
    }), { numRuns: 500 });
  });

  it("anything the bundle key signs that is not a valid payload is BUNDLE_MALFORMED", async () => {
    const key = t.bundleKey.signer;
    const body = fc.oneof(
      fc.jsonValue().map((v) => enc.encode(JSON.stringify(v))),
      fc.uint8Array({ maxLength: 64 }),
      // Valid payload with one top-level field replaced by junk.
      fc.tuple(fc.constantFrom("apiVersion", "site", "version", "issuedAt", "expiresAt", "keysVersion", "release", "spec", "artifacts"), fc.jsonValue())
        .map(([k, v]) => ({ ...t.payload({ version: 9 }), [k]: v }))
        .filter((p) => !BundlePayload.safeParse(p).success)
        .map((p) => enc.encode(JSON.stringify(p))),
    );
    await fc.assert(fc.asyncProperty(body, async (bytes) => {
      const jws = await new CompactSign(bytes).setProtectedHeader({ alg: "EdDSA", kid: key.kid, typ: BUNDLE_TYP }).sign(key.privateKey);
      await expect(verifyBundle(t.state, jws, NOW)).rejects.toMatchObject({ name: "VerifyError", code: "BUNDLE_MALFORMED" });
    }), { numRuns: 150 });
  });

  it("expiry, site and version checks agree with a direct comparison for any values", async () => {
    await fc.assert(fc.asyncProperty(
      fc.integer({ min: -3 * DAY_MS, max: 3 * DAY_MS }), fc.integer({ min: 1, max: 20 }), fc.integer({ min: 0, max: 20 }), fc.constantFrom("prop-site", "prop-site-2"),
      async (expiresIn, version, floor, site) => {
        const jws = await t.bundle({ version, site, expiresAt: iso(NOW.getTime() + expiresIn) });
        const p = verifyBundle({ ...t.state, bundleVersion: floor }, jws, NOW);
        const expectedCode = site !== "prop-site" ? "BUNDLE_WRONG_SITE"
          : Date.parse(iso(NOW.getTime() + expiresIn)) <= NOW.getTime() ? "BUNDLE_EXPIRED"
          : version <= floor ? "BUNDLE_ROLLBACK" : null;
        if (expectedCode) await expect(p).rejects.toMatchObject({ code: expectedCode });
        else expect((await p).state.bundleVersion).toBe(version);
      }), { numRuns: 100 });
  });
});

describe("verifyArtifact", () => {
  it("accepts exactly the digest and size the bundle names, refuses any difference", () => {
    fc.assert(fc.property(artifactArb, hex(64, 64), fc.nat({ max: 2 ** 40 }), (a, sha, size) => {
      const artifact = a as Artifact;
      expect(() => verifyArtifact(artifact, { sha256: artifact.sha256, size: artifact.size })).not.toThrow();
      if (sha === artifact.sha256 && size === artifact.size) return;
      let err: unknown;
      try { verifyArtifact(artifact, { sha256: sha, size }); } catch (e) { err = e; }
      expect(err).toBeInstanceOf(VerifyError);
      expect((err as VerifyError).code).toBe("ARTIFACT_MISMATCH");
      expect((err as VerifyError).message).toContain(artifact.name);
    }));
  });

  it("refuses a right size with a wrong digest, a right digest with a wrong size, and an uppercase digest", () => {
    const a: Artifact = { name: "debian-12", sha256: "ab".repeat(32), size: 1024, url: "/agent/v1/artifacts/x" };
    for (const got of [{ sha256: "cd".repeat(32), size: 1024 }, { sha256: a.sha256, size: 1023 }, { sha256: a.sha256.toUpperCase(), size: 1024 }]) {
      expect(() => verifyArtifact(a, got)).toThrow(expect.objectContaining({ code: "ARTIFACT_MISMATCH" }));
    }
  });
});
