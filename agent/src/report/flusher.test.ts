import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentClient, importPrivate, newKeyPair, type ReportItem } from "@outpost/shared";
import { openStore, type Store } from "../store/db.ts";
import { FixtureHub } from "../testing/fixture-hub.ts";
import { quietLogger, tempDir } from "../testing/harness.ts";
import { Flusher } from "./flusher.ts";
import { enqueue, makeReport } from "./outbox.ts";

let hub: FixtureHub;
let store: Store;
let t: ReturnType<typeof tempDir>;
let client: AgentClient;
const ac = new AbortController();

beforeAll(async () => {
  hub = await FixtureHub.create();
  t = tempDir();
  store = await openStore(t.dir);
  const kp = await newKeyPair();
  hub.sites.set("edge-1", { status: "approved", publicKey: kp.publicJwk });
  client = new AgentClient(hub.url, "edge-1", await importPrivate(kp.privateJwk));
});
afterAll(async () => { ac.abort(); store.close(); t.cleanup(); await hub.stop(); });

const ids = async () => (await store.db.execute("SELECT id FROM outbox ORDER BY id")).rows.map((r) => String(r.id));
const flusher = () => new Flusher({ store, sender: client, log: quietLogger, intervalMs: 60_000, backoff: { baseMs: 10, capMs: 20 }, signal: ac.signal });

describe("outbox flush against an HTTP hub", () => {
  it("sends oldest first in batches of at most 500 and deletes exactly the acked ids", async () => {
    const items: ReportItem[] = [];
    for (let i = 0; i < 1203; i++) {
      items.push(i % 3 === 0
        ? makeReport({ kind: "event", body: { type: "drift-healed", message: `e${i}` } })
        : makeReport({ kind: "telemetry", body: { metrics: { n: i } } }));
    }
    await enqueue(store, items, 100_000);
    const all = await ids();
    expect(all).toEqual(items.map((i) => i.id)); // ULIDs: id order is creation order

    hub.ackMode = "error";
    expect(await flusher().flushAll()).toBe(false);
    expect(await ids()).toEqual(all);

    hub.ackMode = "none";
    expect(await flusher().flushAll()).toBe(false);
    expect(await ids()).toEqual(all);
    expect(hub.receipts.size).toBe(500);

    hub.ackMode = "even";
    expect(await flusher().flushAll()).toBe(false);
    const ackedNow = all.slice(0, 500).filter((_, i) => i % 2 === 0);
    expect(await ids()).toEqual(all.filter((id) => !ackedNow.includes(id)));

    hub.ackMode = "all";
    expect(await flusher().flushAll()).toBe(true);
    expect(await ids()).toEqual([]);
    expect(hub.stored.size).toBe(1203);
    expect([...hub.stored.keys()]).toEqual(all); // first receipts arrived in id order
    const posts = hub.requests.filter((r) => r.path === "/agent/v1/reports");
    expect(posts.length).toBeGreaterThanOrEqual(5);
    // resent ones were stored once (the hub de-duplicates), and batches never exceeded 500 (ReportsRequest.max)
    expect(posts.every((p) => p.status === 200 || p.status === 503)).toBe(true);
  });

  it("keeps the outbox bounded: oldest telemetry, then status, dropped; events kept past the bound", async () => {
    const t2 = tempDir();
    const s = await openStore(t2.dir);
    try {
      const max = 10;
      const mk = (kind: "event" | "telemetry" | "status", n: number) => Array.from({ length: n }, () =>
        kind === "event" ? makeReport({ kind, body: { type: "applied", message: "x" } })
          : kind === "telemetry" ? makeReport({ kind, body: { metrics: { a: 1 } } })
            : makeReport({ kind, body: { bundleVersion: 1, release: null, state: "in-sync", stale: false, lastAppliedAt: null, agentVersion: "0" } }));
      const status = mk("status", 3);
      const tele = mk("telemetry", 5);
      await enqueue(s, [...status, ...tele], max);
      const events = mk("event", 6);
      const r = await enqueue(s, events, max);
      expect(r.dropped).toBe(4);
      const kinds = (await s.db.execute("SELECT id, kind FROM outbox ORDER BY id")).rows.map((x) => String(x.id));
      expect(kinds).toEqual([...status, ...tele.slice(4), ...events].map((i) => i.id));
      await enqueue(s, mk("event", 8), max);
      const left = (await s.db.execute("SELECT kind, COUNT(*) AS n FROM outbox GROUP BY kind ORDER BY kind")).rows.map((x) => [String(x.kind), Number(x.n)]);
      expect(left).toEqual([["event", 14]]); // over the bound: events are never dropped
      const j = await s.db.execute("SELECT COUNT(*) AS n FROM journal WHERE type = 'reports-dropped'");
      expect(Number(j.rows[0]!.n)).toBe(2);
    } finally { s.close(); t2.cleanup(); }
  });
});
