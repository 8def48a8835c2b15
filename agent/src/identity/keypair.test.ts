import { chmodSync, readFileSync, statSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { CompactSign, compactVerify } from "jose";
import { importPublic } from "@outpost/shared";
import { tempDir } from "../testing/harness.ts";
import { IdentityError, KEY_FILE, loadOrCreateIdentity } from "./keypair.ts";

const cleanups: (() => void)[] = [];
afterEach(() => { while (cleanups.length) cleanups.pop()!(); });

describe("agent identity", () => {
  it("creates an Ed25519 key in a 0600 file inside a 0700 directory, then reuses it", async () => {
    const t = tempDir(); cleanups.push(t.cleanup);
    const stateDir = join(t.dir, "state");
    const a = await loadOrCreateIdentity(stateDir);
    expect(a.created).toBe(true);
    expect(statSync(join(stateDir, KEY_FILE)).mode & 0o777).toBe(0o600);
    expect(statSync(stateDir).mode & 0o777).toBe(0o700);
    const jwk = JSON.parse(readFileSync(join(stateDir, KEY_FILE), "utf8"));
    expect(jwk).toMatchObject({ kty: "OKP", crv: "Ed25519" });
    expect(typeof jwk.d).toBe("string");

    const b = await loadOrCreateIdentity(stateDir);
    expect(b.created).toBe(false);
    expect(b.kid).toBe(a.kid);
    expect(b.publicJwk).toEqual(a.publicJwk);
    // the loaded private key matches the public key the hub will hold
    const jws = await new CompactSign(new TextEncoder().encode("hi")).setProtectedHeader({ alg: "EdDSA" }).sign(b.privateKey);
    await expect(compactVerify(jws, await importPublic(a.publicJwk))).resolves.toBeTruthy();
  });

  it("refuses to start with a group/world-readable key", async () => {
    const t = tempDir(); cleanups.push(t.cleanup);
    await loadOrCreateIdentity(t.dir);
    chmodSync(join(t.dir, KEY_FILE), 0o644);
    await expect(loadOrCreateIdentity(t.dir)).rejects.toThrow(IdentityError);
    await expect(loadOrCreateIdentity(t.dir)).rejects.toThrow(/readable by group or others \(mode 0644\).*chmod 600/);
    chmodSync(join(t.dir, KEY_FILE), 0o640);
    await expect(loadOrCreateIdentity(t.dir)).rejects.toThrow(/mode 0640/);
  });

  it("tightens a state directory others can enter, and refuses a key file that is not an Ed25519 JWK", async () => {
    const t = tempDir(); cleanups.push(t.cleanup);
    const dir = join(t.dir, "s");
    mkdirSync(dir, { mode: 0o755 });
    chmodSync(dir, 0o755);
    writeFileSync(join(dir, KEY_FILE), "{\"kty\":\"RSA\"}", { mode: 0o600 });
    await expect(loadOrCreateIdentity(dir)).rejects.toThrow(/not an Ed25519 private key/);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
  });
});
