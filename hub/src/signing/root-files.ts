import fs from "node:fs";
import path from "node:path";
import type { JWK } from "jose";
import { importPrivate, type SigningKey } from "@outpost/shared";

/**
 * Root private keys as files in `<dataDir>/keys/root-<kid>.jwk` (mode 0600). They stand in for the
 * *offline* root: in production they live on an air-gapped machine or HSM and are brought to the
 * hub only to sign a root rotation or a new keys document. Kept out of the database on purpose,
 * so a database dump never contains them.
 */
export function rootKeyPath(dataDir: string, kid: string): string {
  return path.join(dataDir, "keys", `root-${kid}.jwk`);
}

export function writeRootKey(dataDir: string, kid: string, privateJwk: JWK): void {
  const dir = path.join(dataDir, "keys");
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = rootKeyPath(dataDir, kid);
  // `wx`: never overwrite a root key; mode applies on creation, chmod covers a restrictive umask race.
  fs.writeFileSync(file, JSON.stringify(privateJwk) + "\n", { mode: 0o600, flag: "wx" });
  fs.chmodSync(file, 0o600);
}

export function removeRootKey(dataDir: string, kid: string): void {
  fs.rmSync(rootKeyPath(dataDir, kid), { force: true });
}

/** The root keys of `kids` whose files are present here (maybe fewer than asked for). */
export async function loadRootKeys(dataDir: string, kids: string[]): Promise<SigningKey[]> {
  const out: SigningKey[] = [];
  for (const kid of kids) {
    let text: string;
    try { text = fs.readFileSync(rootKeyPath(dataDir, kid), "utf8"); } catch { continue; }
    out.push({ kid, privateKey: await importPrivate(JSON.parse(text) as JWK) });
  }
  return out;
}
