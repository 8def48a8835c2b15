import type { ReportView, SiteView } from "@outpost/shared";
import { Ago, Badge, Labels, Sparkline } from "../components.tsx";
import { FLEET_STATE_LABELS, fleetState } from "../fleet-state.ts";
import { Layout } from "../layout.tsx";

export interface SiteDetail { site: SiteView; events: ReportView[]; metric: string; series: number[]; metrics: string[]; now: Date }

export function SitePage(p: SiteDetail) {
  const s = p.site;
  const st = fleetState(s, p.now);
  return (
    <Layout title={s.name}>
      <h1>{s.name} <Badge state={st}>{FLEET_STATE_LABELS[st]}</Badge></h1>
      <div class="card">
        <dl class="kv">
          <dt>Approval</dt><dd>{s.status}</dd>
          <dt>Reported state</dt><dd>{s.state ?? "none yet"}{s.stale ? " (bundle stale)" : ""}</dd>
          <dt>Release</dt><dd>{s.release ?? "none"}</dd>
          <dt>Bundle issued</dt><dd>v{s.bundleVersion ?? "–"}</dd>
          <dt>Bundle applied</dt><dd>v{s.appliedVersion ?? "–"}</dd>
          <dt>Last seen</dt><dd><Ago at={s.lastSeenAt} now={p.now} /></dd>
          <dt>Labels</dt><dd><Labels labels={s.labels} /></dd>
        </dl>
      </div>
      <h2>Telemetry</h2>
      <div class="card">
        <Sparkline values={p.series} label={p.metric} />
        {p.metrics.length > 1 && (
          <form method="get" class="actions" style="margin-top:.5rem">
            <select name="metric" aria-label="metric">{p.metrics.map((m) => <option value={m} selected={m === p.metric}>{m}</option>)}</select>
            <button class="secondary" type="submit">Show</button>
          </form>
        )}
      </div>
      <h2>Recent events</h2>
      <div class="table-wrap">
        <table id="events">
          <thead><tr><th>When</th><th>Type</th><th>Message</th></tr></thead>
          <tbody>
            {p.events.map((e) => (
              <tr>
                <td><Ago at={e.at} now={p.now} /></td>
                <td><Badge state={String(e.body.severity ?? "info")}>{String(e.body.type ?? "?")}</Badge></td>
                <td>{String(e.body.message ?? "")}</td>
              </tr>
            ))}
            {!p.events.length && <tr><td colspan={3} class="muted">No events.</td></tr>}
          </tbody>
        </table>
      </div>
    </Layout>
  );
}
