import type { z } from "zod";
import type { ReleaseView, RolloutView } from "@outpost/shared";
import { Ago, Badge } from "../components.tsx";
import { Layout, useSession } from "../layout.tsx";
import { can } from "../projects.ts";

export function RolloutsPage(props: { rollouts: RolloutView[]; releases: z.output<typeof ReleaseView>[]; now: Date; error?: string }) {
  const session = useSession();
  return (
    <Layout title="Rollouts">
      <h1>Rollouts</h1>
      <div class="table-wrap">
        <table id="rollouts">
          <thead><tr><th>Rollout</th><th>Release</th><th>Status</th><th>Sites done</th><th class="hide-sm">Created</th></tr></thead>
          <tbody>
            {[...props.rollouts].reverse().map((r) => (
              <tr>
                <td><a href={`/ui/rollouts/${r.id}`}>{r.id.slice(-8)}</a></td>
                <td>{r.release.name}@{r.release.version}</td>
                <td><Badge state={r.status} /></td>
                <td>{r.sites.succeeded} / {r.sites.total}</td>
                <td class="hide-sm"><Ago at={r.createdAt} now={props.now} /></td>
              </tr>
            ))}
            {!props.rollouts.length && <tr><td colspan={5} class="muted">No rollouts yet.</td></tr>}
          </tbody>
        </table>
      </div>
      <h2>New rollout</h2>
      {props.error && <div class="error" role="alert">{props.error}</div>}
      {session && !can(session.project, "operate") && <p class="muted">Your role in {session.project.name} is {session.project.role}: operators create rollouts.</p>}
      {session && can(session.project, "operate") && <form class="form card" method="post" action="/ui/rollouts" id="new-rollout">
        <label>Release
          <select name="release" required>{props.releases.map((r) => <option value={`${r.name}@${r.version}`}>{r.name}@{r.version}</option>)}</select>
        </label>
        <label>Selector <input name="selector" placeholder="region=eu,tier!=canary (empty: every approved site)" /></label>
        <label>Waves (cumulative; the last must be 100%) <input name="waves" value="1,50%,100%" required /></label>
        <label>Approval
          <select name="approval"><option value="automatic">automatic</option><option value="manual">manual (approve each wave)</option></select>
        </label>
        <label class="check"><input type="checkbox" name="start" value="1" checked /> Start now</label>
        <button type="submit">Create rollout</button>
      </form>}
    </Layout>
  );
}
