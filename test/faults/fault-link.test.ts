import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deleteSimObject, getSimObject, readAgentStatus } from "@outpost/agent";
import { Fleet } from "../lib/fleet.ts";
import { sleep, spawnOutpost, waitFor, type OutpostProcess } from "../lib/processes.ts";
import { storeRelease } from "../lib/releases.ts";
import { withStateFile } from "../lib/state-file.ts";
import { cpuSeconds, producedEvents, serverErrors, siteLedgerSettled } from "./lib/ledger.ts";
import { PrivateDns } from "./lib/private-dns.ts";
import { TcpProxy } from "./lib/tcp-proxy.ts";
import { recordCase } from "./report.ts";

/**
 * A site's uplink misbehaving in the ways uplinks do, one after another, on one real agent process
 * that reaches the hub by name (its own /etc/hosts and resolver, so DNS can fail) through a TCP proxy:
 * connections refused, the name not resolving, a hub answering seconds late (then later than the
 * agent waits), answers cut off mid-body. Each time the agent must keep enforcing its last good
 * bundle (a new release is assigned at the hub meanwhile; drift is inflicted and healed locally), say
 * what is wrong (its log and `outpost agent status`, naming the cause), not spin, and recover by
 * itself when the fault ends: the new release applied, every event at the hub exactly once, in order.
 */
describe("a site's uplink failing in five ways", () => {
  const fleet = new Fleet();
  const proxy = new TcpProxy(() => ({ port: fleet.port }));
  const dns = new PrivateDns();
  const HOST = "hub.outpost.test";
  const site = "kiosk-7";
  const env = { OUTPOST_BACKOFF_CAP_MS: "1000", OUTPOST_LONG_POLL_SECONDS: "2", OUTPOST_HUB_TIMEOUT_SECONDS: "4" };
  let agent!: OutpostProcess;
  let release = 0;
  const dir = () => fleet.stateDir(site);
  const MIN_FAULT_MS = 6_000;

  beforeAll(async () => {
    await fleet.startHub();
    await proxy.start();
    dns.set(HOST);
    for (let i = 0; i <= 6; i++) await fleet.op.createRelease(storeRelease(`3.${i}`, { instances: 2 + (i % 2) }));
    const { token } = await fleet.op.createToken({ autoApprove: true });
    agent = await fleet.startAgent(site, { token, env, hubUrl: `http://${HOST}:${proxy.port}`, wrap: dns.wrap });
    await waitFor("site enrolled", async () => (await fleet.op.listSites()).length === 1);
    await fleet.op.assign({ name: "store", version: "3.0" }, "");
    await fleet.waitApplied([site], () => 1);
  });
  afterAll(async () => { await fleet.close(); await proxy.close(); dns.close(); });

  /** Reports the hub said it already had (re-sent after an ack was lost), journaled by the flusher since `seq`. */
  const duplicatesSince = (seq: number) => withStateFile(dir(), async (db) => (await db.execute({ sql: "SELECT detail FROM journal WHERE type = 'report-flushed' AND seq > ?", args: [seq] })).rows
    .reduce((n, r) => n + Number((JSON.parse(String(r.detail)) as { duplicates: number }).duplicates), 0));
  const lastSeq = () => withStateFile(dir(), async (db) => Number((await db.execute("SELECT MAX(seq) FROM journal")).rows[0]![0]));
  const cliStatus = async () => {
    const p = spawnOutpost("status", ["agent", "status", "--state-dir", dir()]);
    await waitFor("status command to exit", () => !p.alive, 20_000);
    return p.text();
  };

  interface Outage {
    id: string; title: string; done: string;
    start: () => Promise<void> | void;
    end: () => Promise<void> | void;
    /** The cause the agent must name in its log and in `agent status` (code); none: it must limp on, slowly but working. */
    says?: { log: RegExp; code: RegExp };
  }

  async function outage(o: Outage): Promise<void> {
    const before = await readAgentStatus(dir());
    const produced0 = (await producedEvents(dir())).length;
    const logFrom = agent.text().length, seq0 = await lastSeq(), conn0 = proxy.stats.connections, cpu0 = cpuSeconds(agent.child.pid!), t0 = Date.now();
    await o.start();
    let ended = false;
    try {
      const version = before.bundleVersion! + 1;
      await fleet.op.assign({ name: "store", version: `3.${++release}` }, "");

      // Enforcement goes on: drift is healed locally while the link is bad.
      expect(await deleteSimObject(dir(), "lxd.instance", "pos-1")).toBe(true);
      await waitFor("pos-1 recreated during the fault", () => getSimObject(dir(), "lxd.instance", "pos-1"), 30_000);

      const says = o.says;
      let slowApplySeconds = 0;
      if (says) {
        // It says what is wrong: its log, and the status a technician reads on site.
        await waitFor(`the agent's log to name ${says.log}`, () => says.log.test(agent.text().slice(logFrom)), 30_000);
        const st = await waitFor("agent status to show the hub link down", async () => {
          const s = await readAgentStatus(dir());
          return s.hub?.state === "down" && says.code.test(s.hub.problem?.code ?? "") ? s : null;
        }, 30_000);
        expect(st.bundleVersion, "kept its last good bundle").toBe(before.bundleVersion);
        expect(await cliStatus()).toMatch(new RegExp(`hub: +DOWN since .*${says.code.source}`));
      } else {
        // Limping, not down: the release and the events get through while the fault lasts.
        await fleet.waitApplied([site], () => version, 60_000);
        slowApplySeconds = (Date.now() - t0) / 1000;
        await siteLedgerSettled(fleet.hubDataDir, site, dir(), 60_000);
      }
      // Long enough for several timeouts and backoff rounds, however quickly the checks above passed.
      await sleep(t0 + MIN_FAULT_MS - Date.now());
      expect(agent.alive, "agent process still running").toBe(true);
      const faultSeconds = (Date.now() - t0) / 1000;
      const cpuShare = (cpuSeconds(agent.child.pid!) - cpu0) / faultSeconds;
      const connections = proxy.stats.connections - conn0;
      // Not spinning: a retry loop without backoff burns a core and opens thousands of connections.
      expect(cpuShare, "agent CPU share during the fault").toBeLessThan(0.5);
      expect(connections / faultSeconds, "connections per second during the fault").toBeLessThan(10);

      await o.end();
      ended = true;
      const recoverFrom = Date.now();
      await fleet.waitApplied([site], () => version, 60_000);
      await waitFor("the agent status to show the hub link ok again", async () => (await readAgentStatus(dir())).hub?.state === "ok", 30_000);
      const ledger = await siteLedgerSettled(fleet.hubDataDir, site, dir());
      const recoverSeconds = (Date.now() - recoverFrom) / 1000;
      expect(ledger).toMatchObject({ missing: [], duplicated: [], foreign: [], outOfOrder: 0, idsUnsorted: 0 });
      const errors5xx = serverErrors(fleet.hub.text());
      expect(errors5xx).toBe(0);
      const resent = await duplicatesSince(seq0);

      recordCase({
        id: o.id, section: "Faults", title: o.title,
        done: `${o.done} Meanwhile a new release was assigned at the hub and an instance was deleted on the site.`,
        checked: (says
          ? `The agent process kept running on its last good bundle and healed the deleted instance locally; its log named the cause (${says.log.source}) and \`outpost agent status\` showed the hub link DOWN with code ${says.code.source}`
          : "The agent kept working through it, slowly: it healed the deleted instance, and the new release and every event reached the hub while the fault lasted") +
          "; it used < 50% of a core and < 10 connections/s meanwhile (no hot loop). When the fault ended it recovered by itself: the new release applied, the status back to ok, every event it journaled stored at the hub exactly once, in order; no 5xx.",
        figures: {
          "fault (s)": Math.round(faultSeconds), ...(says ? {} : { "new release applied during the fault after (s)": Math.round(slowApplySeconds) }), "agent CPU during fault (% of a core)": Math.round(cpuShare * 100), "connections during fault": connections,
          "reports re-sent (hub said duplicate)": resent, "events produced (site, so far)": ledger.produced, "events stored": ledger.stored,
          "events lost": ledger.missing.length, "recovery after the fault (s)": Math.round(recoverSeconds), "5xx seen": errors5xx,
        },
        // This case's own events (the site's ledger runs on across the cases).
        totals: { eventsProduced: ledger.produced - produced0, eventsStored: ledger.stored - produced0, serverErrors: errors5xx, dataLost: ledger.missing.length },
      });
    } finally {
      // A failed check must not leave the fault on for the cases after it.
      if (!ended) await o.end();
    }
  }

  it("connection refused: nothing listens where the hub should be", () => outage({
    id: "link-connection-refused", title: "Connection refused",
    done: "The proxy in front of the hub stopped listening (every connect: ECONNREFUSED) and reset the open connections.",
    start: () => proxy.refuse(), end: () => proxy.pass(),
    says: { log: /ECONNREFUSED/, code: /ECONNREFUSED/ },
  }));

  it("DNS failure: the hub's name stops resolving", () => outage({
    id: "link-dns-failure", title: "DNS failure: the hub's name does not resolve",
    done: `The agent reaches the hub as ${HOST}, resolved through its own /etc/hosts and resolver (a mount namespace); the name was removed and the resolver has no server (EAI_AGAIN), and open connections were reset as a router reboot does.`,
    start: () => { dns.remove(HOST); proxy.reset(); }, end: () => dns.set(HOST),
    says: { log: /EAI_AGAIN|ENOTFOUND/, code: /EAI_AGAIN|ENOTFOUND/ },
  }));

  it("slow hub: every answer 2.5 s late", () => outage({
    id: "link-slow-hub", title: "Slow hub: 2.5 s per answer",
    done: "Every chunk the hub sent reached the agent 2.5 s late (the agent waits up to 4 s for an answer, plus the long-poll's wait).",
    start: () => { proxy.delayMs = 2500; }, end: () => { proxy.delayMs = 0; },
  }));

  it("hub slower than the agent waits: every answer 12 s late", () => outage({
    id: "link-hub-too-slow", title: "Hub slower than the agent waits: 12 s per answer",
    // Twice the longest deadline (a 2 s long-poll + the 4 s timeout): no answer can squeeze in on a late timer.
    done: "Every chunk the hub sent reached the agent 12 s late, beyond the agent's 4 s timeout (plus a long-poll's 2 s wait): every call timed out, though the hub had done its part (reports stored, acks lost).",
    start: () => { proxy.delayMs = 12_000; }, end: () => { proxy.delayMs = 0; },
    says: { log: /did not answer/, code: /TIMEOUT/ },
  }));

  it("truncated answers: every answer cut off after 20 bytes of body", () => outage({
    id: "link-truncated-answers", title: "Truncated answers",
    done: "The proxy cut every answer to the agent's bundle and report calls after its header and 20 bytes of body, then closed the connection (the hub had stored the reports; the acks were lost).",
    start: () => { proxy.truncate = { match: /^(GET|POST) \/agent\/v1\/(bundle|reports)/, keepBodyBytes: 20 }; }, end: () => { proxy.truncate = null; },
    says: { log: /cut short/, code: /BAD_ANSWER/ },
  }));
});
