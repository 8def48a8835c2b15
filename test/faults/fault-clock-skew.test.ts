import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readAgentStatus } from "@outpost/agent";
import { Fleet } from "../lib/fleet.ts";
import { waitFor, type OutpostProcess } from "../lib/processes.ts";
import { storeRelease } from "../lib/releases.ts";
import { serverErrors, siteLedgerSettled, type Ledger } from "./lib/ledger.ts";
import { recordCase } from "./report.ts";

/**
 * Sites whose clocks are an hour off (libfaketime on real agent processes: one an hour ahead, one an
 * hour behind, one an hour ahead on MQTT alone), against a hub with the right time.
 *
 * What the skew breaks, and what the agent does about it:
 * - Request tokens live 60 s and the hub allows 30 s of skew, so every token an agent an hour off
 *   signs on its own clock is refused (401 AUTH_INVALID). The agent reads the hub's Date header on
 *   that answer, signs from then on in hub time (local + offset), and says so: a warning in its log and
 *   a clock-skew event the hub receives. Enrollment carries no token and works regardless.
 * - Bundles are judged on the site's own clock (the hub's unsigned Date must not be able to revive an
 *   expired bundle): an hour means nothing against the default 7-day lifetime, but a skew longer than
 *   the lifetime makes every bundle look expired to a clock ahead. Shown here with 30-minute bundles:
 *   the site an hour ahead refuses them as BUNDLE_EXPIRED (and reports that), the one behind takes them.
 * - Once its clock is fixed the site carries on: its report ids keep sorting after the ones it made an
 *   hour ahead, and its statuses still move the hub's view of it.
 */
describe("agents with their clocks an hour off", () => {
  const fleet = new Fleet();
  const skews = { "clock-ahead": "+1h", "clock-behind": "-1h", "clock-ahead-mqtt": "+1h" } as const;
  const sites = Object.keys(skews) as (keyof typeof skews)[];
  const env = { OUTPOST_BACKOFF_CAP_MS: "1000", OUTPOST_LONG_POLL_SECONDS: "2", OUTPOST_HUB_TIMEOUT_SECONDS: "5" };
  // libfaketime preloaded into the agent process itself (the `faketime` command forks, and a signal
  // to it would not reach the agent). Timers run on the real monotonic clock; only the wall clock moves.
  const LIBFAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";
  const skewed = (s: (typeof sites)[number]) => ({
    ...env, ...(s.endsWith("mqtt") ? { OUTPOST_TRANSPORT: "mqtt" } : {}),
    LD_PRELOAD: LIBFAKETIME, FAKETIME: skews[s], FAKETIME_DONT_FAKE_MONOTONIC: "1",
  });
  const agents = new Map<string, OutpostProcess>();
  let token = "";

  beforeAll(async () => {
    if (!existsSync(LIBFAKETIME)) throw new Error(`${LIBFAKETIME} (Debian package libfaketime, pulled in by faketime) is needed to skew an agent's clock; bash test/daemons/install.sh installs it`);
    await fleet.startHub();
    for (const v of ["8.0", "8.1", "8.2", "8.3"]) await fleet.op.createRelease(storeRelease(v));
    ({ token } = await fleet.op.createToken({ autoApprove: true, uses: sites.length }));
    for (const s of sites) agents.set(s, await fleet.startAgent(s, { token, env: skewed(s) }));
    await waitFor("sites enrolled", async () => (await fleet.op.listSites()).length === sites.length);
  });
  afterAll(() => fleet.close());

  /** The bundle version each site got (the hub may have issued renewals in between: a restart with another lifetime). */
  const assign = async (v: string) => {
    const r = await fleet.op.assign({ name: "store", version: v }, "");
    const got = new Map(r.assigned.map((a) => [a.site, a.version] as const));
    return (site: string) => got.get(site)!;
  };

  it("enrolls, gets and applies bundles, and reports, each site saying its clock is off", async () => {
    const v = await assign("8.0");
    await fleet.waitApplied(sites, v, 60_000);
    for (const s of sites) {
      const [ev] = await waitFor(`${s}: clock-skew event at the hub`, async () => { const e = await fleet.events(s, "clock-skew"); return e.length ? e : null; });
      const off = (ev!.body.details as { offsetSeconds: number }).offsetSeconds;
      // offset = hub - local: an hour ahead is -3600 s.
      expect(Math.abs(off - (skews[s] === "+1h" ? -3600 : 3600)), `${s}: offset ${off}`).toBeLessThanOrEqual(5);
      expect(String(ev!.body.message)).toMatch(skews[s] === "+1h" ? / 3(599|600|601) s ahead of the hub's/ : / 3(599|600|601) s behind the hub's/);
      expect(agents.get(s)!.text()).toMatch(/this host's clock is 3(599|600|601) s (ahead of|behind) the hub's.*Fix this host's time sync/);
      expect((await fleet.site(s)).state).toBe("in-sync");
    }
    // Exactly one clock-skew event each: learnt once, not per request.
    for (const s of sites) expect(await fleet.events(s, "clock-skew")).toHaveLength(1);
  });

  it("bundles are judged on the site's own clock: a lifetime shorter than the skew expires them for a clock ahead", async () => {
    await fleet.stopHub();
    await fleet.startHub({ OUTPOST_BUNDLE_TTL_SECONDS: "1800" });
    const v = await assign("8.1");
    await fleet.waitApplied(["clock-behind"], v, 60_000);
    for (const s of ["clock-ahead", "clock-ahead-mqtt"]) {
      const rejected = await waitFor(`${s}: BUNDLE_EXPIRED reported`, async () =>
        (await fleet.events(s, "bundle-rejected")).find((e) => e.body.code === "BUNDLE_EXPIRED" && e.body.bundleVersion === v(s)), 30_000);
      expect(String(rejected.body.message)).toMatch(/expired/i);
      const st = await readAgentStatus(fleet.stateDir(s));
      expect(st.bundleVersion, `${s} keeps its last good bundle`).toBe(v(s) - 1);
      expect(st.state).toBe("in-sync");
    }
    // Back to the default 7 days: the next bundle is good for everyone.
    await fleet.stopHub();
    await fleet.startHub({ OUTPOST_BUNDLE_TTL_SECONDS: String(7 * 86400) });
    await fleet.waitApplied(sites, await assign("8.2"), 60_000);
  });

  it("once the clock is fixed the site carries on: ids keep their order, statuses keep moving the hub", async () => {
    const s = "clock-ahead";
    await agents.get(s)!.kill("SIGTERM");
    agents.set(s, await fleet.startAgent(s, { token, env })); // no faketime: NTP fixed it
    await fleet.waitApplied(sites, await assign("8.3"), 60_000);

    const ledgers = new Map<string, Ledger>();
    for (const x of sites) {
      const l = await siteLedgerSettled(fleet.hubDataDir, x, fleet.stateDir(x));
      expect(l, x).toMatchObject({ missing: [], duplicated: [], foreign: [], outOfOrder: 0, idsUnsorted: 0 });
      ledgers.set(x, l);
    }
    const errors5xx = serverErrors(fleet.hub.text());
    expect(errors5xx).toBe(0);
    let expiredRefusals = 0;
    for (const x of sites) expiredRefusals += (await fleet.events(x, "bundle-rejected")).filter((e) => e.body.code === "BUNDLE_EXPIRED").length;
    const skewEvents = (await Promise.all(sites.map((x) => fleet.events(x, "clock-skew")))).flat().length;
    const produced = [...ledgers.values()].reduce((n, l) => n + l.produced, 0);
    const stored = [...ledgers.values()].reduce((n, l) => n + l.stored, 0);

    recordCase({
      id: "clock-skew-1h", section: "Faults", title: "Clock skew: agents an hour ahead and an hour behind",
      done: "Three real agent processes under libfaketime (+1 h on HTTPS, -1 h on HTTPS, +1 h on MQTT only) against a hub with the right time: enrolled, took releases, then the hub issued 30-minute bundles for one release, then the +1 h site's clock was fixed (restarted without faketime).",
      checked: "What works: enrollment (no token); every request after the first refused token (the agent learns the offset from the hub's Date header and signs request tokens on hub time, since a 60 s token with 30 s leeway cannot survive an hour of skew), over HTTPS and as the MQTT login; bundles of the default 7-day lifetime; reports. Each site said its clock is off exactly once (log warning naming the offset and NTP, and a clock-skew event at the hub with offsetSeconds ±3600). What does not: bundles whose lifetime (30 min) is shorter than the skew are expired to the clock ahead (bundle-rejected BUNDLE_EXPIRED reported, last good bundle kept) while the clock behind takes them; trust checks stay on the local clock by design. After the clock was fixed: the site applied the next release, the hub's view of it moved on, and every event of every site was stored exactly once, in order, ids still sorting in production order; no 5xx.",
      figures: { "agents": sites.length, "skew": "+1 h / -1 h", "clock-skew events": skewEvents, "bundles refused as expired (30 min lifetime, clocks ahead)": expiredRefusals, "events produced": produced, "events stored": stored, "events lost": produced - stored, "5xx seen": errors5xx },
      totals: { eventsProduced: produced, eventsStored: stored, serverErrors: errors5xx, dataLost: produced - stored },
    });
  });
});
