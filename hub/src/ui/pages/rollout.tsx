import type { RolloutEventView, RolloutView, WaveView } from "@outpost/shared";
import { Ago, Badge } from "../components.tsx";
import { Layout, useSession } from "../layout.tsx";
import { can } from "../projects.ts";

/** Which statuses offer which action (mirrors rollouts/actions.ts; the API still has the last word). */
const ACTIONS: { action: string; when: string; manual?: boolean; style?: string }[] = [
  { action: "start", when: "created" },
  { action: "pause", when: "running", style: "secondary" },
  { action: "resume", when: "paused" },
  { action: "approve", when: "running,paused", manual: true },
  { action: "abort", when: "created,running,paused", style: "danger" },
  { action: "rollback", when: "running,paused,completed,aborted", style: "danger" },
];

const pct = (n: number, size: number) => `width:${size ? (100 * n) / size : 0}%`;

function Wave(props: { w: WaveView }) {
  const w = props.w;
  return (
    <div class="wave" data-wave={w.index}>
      <div class="head">
        <strong>Wave {w.index + 1} <span class="muted">(target {w.target}, {w.size} sites)</span></strong>
        <Badge state={w.state} />
      </div>
      <div class="bar" role="img" aria-label={`wave ${w.index + 1} progress`}>
        <span class="succeeded" style={pct(w.succeeded, w.size)}></span>
        <span class="in-progress" style={pct(w.inProgress, w.size)}></span>
        <span class="failed" style={pct(w.failed, w.size)}></span>
        <span class="timed-out" style={pct(w.timedOut, w.size)}></span>
      </div>
      <div class="muted">
        succeeded <span data-count="succeeded">{w.succeeded}</span> · in progress <span data-count="inProgress">{w.inProgress}</span> ·
        failed <span data-count="failed">{w.failed}</span> · timed out <span data-count="timedOut">{w.timedOut}</span> · pending <span data-count="pending">{w.pending}</span>
      </div>
    </div>
  );
}

export function RolloutPage(props: { r: RolloutView; events: RolloutEventView[]; now: Date; error?: string }) {
  const r = props.r;
  const session = useSession();
  // Viewers get no buttons at all (the live script only shows and hides the ones on the page).
  const operate = session !== null && can(session.project, "operate");
  return (
    <Layout title={`Rollout ${r.id.slice(-8)}`} script="/ui/static/rollout.js">
      <h1>Rollout of {r.release.name}@{r.release.version} <Badge id="rollout-status" state={r.status} /></h1>
      {props.error && <div class="error" role="alert">{props.error}</div>}
      <div class="card">
        <dl class="kv">
          <dt>Id</dt><dd><code>{r.id}</code></dd>
          <dt>Selector</dt><dd><code>{r.selector || "(every approved site)"}</code></dd>
          <dt>Waves</dt><dd>{r.strategy.waves.join(", ")} · approval {r.strategy.approval} · on failure {r.strategy.onFailure}</dd>
          <dt>Sites succeeded</dt><dd id="rollout-succeeded">{r.sites.succeeded} / {r.sites.total}</dd>
          <dt>Waiting for</dt><dd id="rollout-waiting">{r.waitingFor ?? "nothing"}</dd>
          <dt>Created</dt><dd><Ago at={r.createdAt} now={props.now} /></dd>
        </dl>
      </div>
      <div class="actions" style="margin-top:.8rem">
        {!operate && <p class="muted" id="no-actions">Your role in {session?.project.name} is {session?.project.role}: operators start, pause and roll back rollouts.</p>}
        {operate && ACTIONS.map((a) => (
          <form class="inline" method="post" action={`/ui/rollouts/${r.id}/${a.action}`} data-when={a.when} data-manual={a.manual ? "1" : "0"}
            hidden={!a.when.split(",").includes(r.status) || (a.manual === true && r.strategy.approval !== "manual")}>
            <button type="submit" class={a.style ?? ""}>{a.action === "approve" ? "Approve next wave" : a.action[0]!.toUpperCase() + a.action.slice(1)}</button>
          </form>
        ))}
      </div>
      <h2>Waves</h2>
      <div class="notice" id="stream-ended" hidden>Live updates stopped (signed out, or the hub went away): reload the page.</div>
      <section id="rollout" class="card" data-stream={`/ui/rollouts/${r.id}/stream`}>
        {r.waves.length ? r.waves.map((w) => <Wave w={w} />) : <p class="muted placeholder">Waves are planned when the rollout starts.</p>}
      </section>
      <h2>History</h2>
      <div class="table-wrap">
        <table id="history">
          <thead><tr><th>When</th><th>Event</th><th class="hide-sm">Wave</th><th>Site</th><th class="hide-sm">By</th></tr></thead>
          <tbody>
            {[...props.events].reverse().slice(0, 50).map((e) => (
              <tr><td><Ago at={e.at} now={props.now} /></td><td>{e.type}</td><td class="hide-sm">{e.wave === null ? "" : e.wave + 1}</td><td>{e.site ?? ""}</td><td class="hide-sm">{e.actor}</td></tr>
            ))}
          </tbody>
        </table>
      </div>
      <p class="muted">History as it was when the page loaded; the waves above update live.</p>
    </Layout>
  );
}
