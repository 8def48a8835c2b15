import type { SiteView } from "@outpost/shared";
import { Ago, Badge, Labels } from "../components.tsx";
import { countByState, FLEET_STATE_LABELS, fleetState, OFFLINE_AFTER_MS, type FleetState } from "../fleet-state.ts";
import { Layout, useSession } from "../layout.tsx";

const MAIN: FleetState[] = ["in-sync", "applying", "failed", "offline"];

export function OverviewPage(props: { sites: SiteView[]; now: Date }) {
  const counts = countByState(props.sites, props.now);
  const extra = (["pending", "revoked"] as const).filter((s) => counts[s] > 0);
  const project = useSession()?.project.name;
  return (
    <Layout title="Fleet">
      <h1>Fleet <span class="muted">· project <span id="project-name">{project}</span> ({props.sites.length} sites)</span></h1>
      <section class="cards" aria-label="sites by state">
        {[...MAIN, ...extra].map((s) => (
          <div class={`card ${s}`} data-state={s}><div class="n" data-count={s}>{counts[s]}</div><div class="l">{FLEET_STATE_LABELS[s]}</div></div>
        ))}
      </section>
      <p class="muted">Stale / offline: the agent reported its bundle stale, or the hub has not heard from it for {OFFLINE_AFTER_MS / 60_000} minutes.</p>
      <h2>Sites</h2>
      <div class="table-wrap">
        <table id="sites">
          <thead><tr><th>Site</th><th>State</th><th>Release</th><th class="hide-sm">Bundle (applied)</th><th class="hide-sm">Labels</th><th>Last seen</th></tr></thead>
          <tbody>
            {props.sites.map((s) => {
              const st = fleetState(s, props.now);
              return (
                <tr data-site={s.name}>
                  <td><a href={`/ui/sites/${encodeURIComponent(s.name)}`}>{s.name}</a></td>
                  <td><Badge state={st}>{FLEET_STATE_LABELS[st]}</Badge></td>
                  <td>{s.release ?? <span class="muted">none</span>}</td>
                  <td class="hide-sm">{s.bundleVersion ?? "–"} ({s.appliedVersion ?? "–"})</td>
                  <td class="hide-sm"><Labels labels={s.labels} /></td>
                  <td><Ago at={s.lastSeenAt} now={props.now} /></td>
                </tr>
              );
            })}
            {!props.sites.length && <tr><td colspan={6} class="muted">No sites yet: enroll one with <code>outpost token create</code>.</td></tr>}
          </tbody>
        </table>
      </div>
    </Layout>
  );
}
