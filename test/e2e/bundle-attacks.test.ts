import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readAgentStatus } from "@outpost/agent";
import { Fleet } from "../lib/fleet.ts";
import { storeRelease } from "../lib/releases.ts";
import { waitFor } from "../lib/processes.ts";
import { TamperingProxy, tamperPayload } from "../lib/proxy.ts";

/**
 * An attacker between the sites and the hub rewrites bundle answers. Each forgery must be
 * refused by the agent with its own code, nothing applied, and a bundle-rejected event must
 * reach the hub (through the same proxy, which passes reports through untouched).
 */
async function rejected(fleet: Fleet, site: string, code: string) {
  return waitFor(`a ${code} bundle-rejected event from ${site}`, async () =>
    (await fleet.events(site, "bundle-rejected")).find((e) => e.body.code === code));
}

describe("forged bundles in transit are refused", () => {
  const fleet = new Fleet();
  const proxy = new TamperingProxy(() => fleet.url);
  const A = "shop-a", B = "shop-b";

  beforeAll(async () => {
    await fleet.startHub();
    await proxy.start();
    await fleet.startAgent(A, { hubUrl: proxy.url, labels: { shop: "a" } });
    await fleet.startAgent(B, { hubUrl: proxy.url, labels: { shop: "b" } });
    await waitFor("both sites enrolled", async () => (await fleet.op.listSites()).length === 2);
    await fleet.op.approveSite(A);
    await fleet.op.approveSite(B);
    await fleet.op.createRelease(storeRelease("1.0"));
    await fleet.op.createRelease(storeRelease("2.0", { instances: 4 }));
    await fleet.op.assign({ name: "store", version: "1.0" }, "");
    await fleet.waitApplied([A, B], () => 1);
    // B moves on twice so that its bundles carry versions above A's.
    await fleet.op.assign({ name: "store", version: "2.0" }, "shop=b");
    await fleet.op.assign({ name: "store", version: "1.0" }, "shop=b");
    await fleet.waitApplied([B], () => 3);
  });
  afterAll(async () => { await fleet.close(); await proxy.close(); });

  async function expectStillOnV1() {
    expect((await readAgentStatus(fleet.stateDir(A))).bundleVersion).toBe(1);
    const site = await fleet.site(A);
    expect(site.appliedVersion).toBe(1);
    expect(site.release).toBe("store@1.0");
  }

  it("refuses a bundle whose payload was altered (bad signature)", async () => {
    proxy.rewrite = (x) => (x.site === A && x.path === "/agent/v1/bundle" && x.status === 200 ? { status: 200, body: tamperPayload(x.body) } : undefined);
    await fleet.op.assign({ name: "store", version: "2.0" }, "shop=a"); // the hub now holds v2 for A
    const ev = await rejected(fleet, A, "BUNDLE_BAD_SIGNATURE");
    expect(ev.body.severity).toBe("error");
    await expectStillOnV1();
  });

  it("refuses another site's bundle (mix-and-match)", async () => {
    const bBundle = proxy.captured.get(B)!.at(-1)!;
    proxy.rewrite = (x) => (x.site === A && x.path === "/agent/v1/bundle" ? { status: 200, body: bBundle, headers: { "x-outpost-bundle-version": "3" } } : undefined);
    await rejected(fleet, A, "BUNDLE_WRONG_SITE");
    await expectStillOnV1();
  });

  it("refuses a re-served old version (rollback) once the site is on a newer one", async () => {
    proxy.rewrite = () => undefined;
    await fleet.waitApplied([A], () => 2); // the genuine v2 gets through once the attacker stops
    const v1 = proxy.captured.get(A)!.find((b) => JSON.parse(Buffer.from(b.split(".")[1]!, "base64url").toString()).version === 1)!;
    proxy.rewrite = (x) => (x.site === A && x.path === "/agent/v1/bundle" ? { status: 200, body: v1, headers: { "x-outpost-bundle-version": "1" } } : undefined);
    await rejected(fleet, A, "BUNDLE_ROLLBACK");
    expect((await readAgentStatus(fleet.stateDir(A))).bundleVersion).toBe(2);
    expect((await fleet.site(A)).release).toBe("store@2.0");
  });

  it("refuses an oversized answer without reading it all (endless data)", async () => {
    const huge = "e".repeat(3 * 1024 * 1024) + "." + "x".repeat(1024);
    proxy.rewrite = (x) => (x.site === A && x.path === "/agent/v1/bundle" ? { status: 200, body: huge, headers: { "x-outpost-bundle-version": "9" } } : undefined);
    await rejected(fleet, A, "BUNDLE_TOO_LARGE");
    expect((await readAgentStatus(fleet.stateDir(A))).bundleVersion).toBe(2);
    proxy.rewrite = () => undefined;
  });

  it("reports each forged bundle once, not on every poll", async () => {
    const events = await fleet.events(A, "bundle-rejected");
    const perCode = new Map<string, number>();
    for (const e of events) perCode.set(String(e.body.code), (perCode.get(String(e.body.code)) ?? 0) + 1);
    expect(Object.fromEntries(perCode)).toEqual({ BUNDLE_BAD_SIGNATURE: 1, BUNDLE_WRONG_SITE: 1, BUNDLE_ROLLBACK: 1, BUNDLE_TOO_LARGE: 1 });
  });
});

describe("an expired bundle is refused (freeze attack)", () => {
  // Bundles from this hub live 4 s (the hub renews them every second past half-life), so an
  // attacker who withholds one can replay it after it expired.
  const fleet = new Fleet();
  const proxy = new TamperingProxy(() => fleet.url);
  const A = "shop-frozen";

  beforeAll(async () => {
    await fleet.startHub({ OUTPOST_BUNDLE_TTL_SECONDS: "4" });
    await proxy.start();
    await fleet.startAgent(A, { hubUrl: proxy.url });
    await waitFor("site enrolled", async () => (await fleet.op.listSites()).length === 1);
    await fleet.op.approveSite(A);
    await fleet.op.createRelease(storeRelease("1.0"));
    await fleet.op.createRelease(storeRelease("2.0", { instances: 4 }));
    await fleet.op.assign({ name: "store", version: "1.0" }, "");
    await waitFor("store@1.0 applied", async () => (await fleet.site(A)).release === "store@1.0");
  });
  afterAll(async () => { await fleet.close(); await proxy.close(); });

  it("withheld until it expired, then replayed: BUNDLE_EXPIRED, nothing applied", async () => {
    const held = (await readAgentStatus(fleet.stateDir(A))).bundleVersion!;
    let withheld: string | undefined;
    proxy.rewrite = (x) => {
      if (x.site !== A || x.path !== "/agent/v1/bundle") return undefined;
      if (x.status === 200 && !withheld && x.body.length > 0) {
        const version = JSON.parse(Buffer.from(x.body.split(".")[1]!, "base64url").toString()).version;
        if (version > held) withheld = x.body;
      }
      return { status: 204, body: "" };
    };
    await fleet.op.assign({ name: "store", version: "2.0" }, "");
    const jws = await waitFor("the attacker to capture a newer bundle", () => withheld);
    const expiresAt = Date.parse(JSON.parse(Buffer.from(jws.split(".")[1]!, "base64url").toString()).expiresAt);
    await waitFor("it to expire", () => Date.now() > expiresAt + 500, 15_000);
    proxy.rewrite = (x) => (x.site === A && x.path === "/agent/v1/bundle" ? { status: 200, body: jws } : undefined);
    await rejected(fleet, A, "BUNDLE_EXPIRED");
    expect((await readAgentStatus(fleet.stateDir(A))).bundleVersion).toBe(held);
    expect((await fleet.site(A)).release).toBe("store@1.0");
  });
});
