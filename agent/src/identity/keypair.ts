import { chmodSync, closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, statSync, writeSync } from "node:fs";
import { join } from "node:path";
import type { CryptoKey, JWK } from "jose";
import { importPrivate, newKeyPair, PublicJwk, thumbprint } from "@outpost/shared";

/**
 * The agent's identity: an Ed25519 key pair made on first start. The private half never leaves
 * <stateDir>/agent.key (mode 0600, in a 0700 directory); the hub learns the public half at enrollment
 * and from then on every request is a JWT the agent signs with it.
 */
export interface Identity {
  kid: string;
  publicJwk: PublicJwk;
  privateKey: CryptoKey;
}

export const KEY_FILE = "agent.key";

export class IdentityError extends Error {
  constructor(message: string) { super(message); this.name = "IdentityError"; }
}

/** Creates the state directory owner-only; an existing one that others can enter is tightened. */
export function ensureStateDir(stateDir: string): void {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const mode = statSync(stateDir).mode & 0o777;
  if (mode & 0o077) chmodSync(stateDir, 0o700);
}

/** Write to a temp file, fsync, rename: a crash leaves either no key or the whole key, never half of one. */
function writeFileAtomic(path: string, data: string, mode: number): void {
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, "w", mode);
  try {
    writeSync(fd, data);
    fsyncSync(fd);
  } finally { closeSync(fd); }
  chmodSync(tmp, mode); // the umask may have narrowed `mode` further, never widened it; be exact anyway
  renameSync(tmp, path);
}

function checkPrivate(path: string): void {
  const mode = statSync(path).mode & 0o777;
  if (mode & 0o077) {
    throw new IdentityError(
      `refusing to start: ${path} is readable by group or others (mode ${mode.toString(8).padStart(4, "0")}); ` +
      `the agent's private key must be owner-only: chmod 600 ${path}`,
    );
  }
}

/** Loads the key pair from the state directory, generating and saving it on the very first start. */
export async function loadOrCreateIdentity(stateDir: string): Promise<Identity & { created: boolean }> {
  ensureStateDir(stateDir);
  const path = join(stateDir, KEY_FILE);
  let text: string | null = null;
  try {
    checkPrivate(path);
    text = readFileSync(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
  let created = false;
  if (text === null) {
    const kp = await newKeyPair();
    text = JSON.stringify(kp.privateJwk);
    writeFileAtomic(path, text + "\n", 0o600);
    created = true;
  }
  let jwk: JWK;
  try { jwk = JSON.parse(text) as JWK; } catch { throw new IdentityError(`${path} is not a JSON private key (JWK)`); }
  if (jwk.kty !== "OKP" || jwk.crv !== "Ed25519" || typeof jwk.d !== "string" || typeof jwk.x !== "string") {
    throw new IdentityError(`${path} is not an Ed25519 private key (JWK with kty OKP, crv Ed25519)`);
  }
  const publicJwk = PublicJwk.parse({ kty: "OKP", crv: "Ed25519", x: jwk.x });
  return { kid: await thumbprint(publicJwk), publicJwk, privateKey: await importPrivate(jwk), created };
}
