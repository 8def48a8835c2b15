import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AgentClient, OperatorClient, importPrivate, newKeyPair, signAgentJwt } from "@outpost/shared";
import { storeRelease } from "../test/lib/releases.ts";
import { spawnOutpost } from "../test/lib/processes.ts";
import { argValue, fmt, machine } from "./lib.ts";
import { load } from "./load.ts";

/** A bare node:http server answering 204, in its own process like the hub: the ceiling to compare with. */
const BARE_204 = `require("node:http").createServer((q, s) => { s.writeHead(204, { etag: '"v1"' }); s.end(); })
  .listen(0, "127.0.0.1", function () { console.log("listening " + this.address().port); });`;

/**
 * Unchanged long-poll answers per second from one hub process (agent JWT verified, replay
 * checked, newest bundle looked up, 204) next to a bare node:http 204 server measured in the same run.
 */
export async function benchPoll(args: string[]): Promise<void> {
  const seconds = argValue(args, "seconds", 5);
  const concurrency = argValue(args, "concurrency", 32);
  const dir = mkdtempSync(join(tmpdir(), "outpost-bench-poll-"));
  const adminToken = `opa_${randomBytes(32).toString("base64url")}`;
  const hub = spawnOutpost("hub", ["hub", "start", "--data-dir", dir, "--port", "0"], { OUTPOST_ADMIN_TOKEN: adminToken, OUTPOST_LOG_LEVEL: "error" });
  const bare = spawn(process.execPath, ["-e", BARE_204], { stdio: ["ignore", "pipe", "inherit"] });
  try {
    const url = (await hub.waitForOutput(/outpost hub listening on (\S+)/))[1]!;
    const barePort = await new Promise<string>((res) => bare.stdout!.setEncoding("utf8").on("data", (d: string) => { const m = /listening (\d+)/.exec(d); if (m) res(m[1]!); }));

    // One approved site holding bundle v1: every poll below asks with known=1, so the hub answers 204.
    const op = new OperatorClient(url, adminToken);
    const { token } = await op.createToken({ autoApprove: true });
    const keys = await newKeyPair();
    const key = await importPrivate(keys.privateJwk);
    await new AgentClient(url, "bench-site", key).enroll({ token, site: "bench-site", publicKey: keys.publicJwk });
    await op.createRelease(storeRelease("1.0"));
    await op.assign({ name: "store", version: "1.0" }, "");

    // Request tokens are single-use (jti): sign them all before the clock starts.
    const needed = Math.ceil(seconds * 20_000) + 2_000;
    const jwts = await Promise.all(Array.from({ length: needed }, () => signAgentJwt("bench-site", key)));
    const auth = (i: number) => ({ authorization: `Bearer ${jwts[i % jwts.length]}` });

    console.log(`bench poll: ${machine()}; ${concurrency} concurrent keep-alive clients, ${seconds}s each, hub and baseline each in its own process`);
    const base = await load(`http://127.0.0.1:${barePort}/`, { concurrency, ms: seconds * 1000 });
    const res = await load(`${url}/agent/v1/bundle?known=1&wait=0`, { concurrency, ms: seconds * 1000, headers: auth });
    if (res.perSecond * seconds > jwts.length) console.log("  (note: more requests than pre-signed tokens; replays were refused with 401)");
    const row = (name: string, r: typeof res) => console.log(`  ${name.padEnd(46)} ${fmt(r.perSecond).padStart(9)} /s  p50 ${r.p50.toFixed(1)} ms  p99 ${r.p99.toFixed(1)} ms  statuses ${JSON.stringify(r.statuses)}`);
    row("baseline  bare node:http 204", base);
    row("outpost   GET /agent/v1/bundle unchanged (204)", res);
    console.log(`  ratio     outpost / baseline  ${(res.perSecond / base.perSecond).toFixed(3)}`);
  } finally {
    bare.kill();
    await hub.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}
