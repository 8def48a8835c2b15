import type { AuditEntry } from "@outpost/shared";
import { Ago, Badge } from "../components.tsx";
import { Layout, useSession } from "../layout.tsx";

/** The project's audit log as the API gives it to its admins: who, what, when, from where, with what result. */
export function AuditPage(props: { entries: AuditEntry[]; actor?: string; more: boolean; now: Date }) {
  const session = useSession();
  const older = props.entries.at(-1);
  return (
    <Layout title="Audit log">
      <h1>Audit log <span class="muted">({session?.project.name}{session?.hubAdmin ? ", and hub-wide entries" : ""})</span></h1>
      <form method="get" class="actions" style="margin-bottom:.7rem" id="audit-filter">
        <input name="actor" value={props.actor ?? ""} placeholder="who: user:alice, oidc:…, site:…" aria-label="actor" style="max-width:22rem" />
        <button type="submit" class="secondary">Filter</button>
        {props.actor && <a href="/ui/audit">all entries</a>}
      </form>
      <div class="table-wrap">
        <table id="audit">
          <thead><tr><th>When</th><th>Who</th><th>Action</th><th>Target</th><th class="hide-sm">From</th><th>Result</th></tr></thead>
          <tbody>
            {props.entries.map((e) => (
              <tr>
                <td><Ago at={e.at} now={props.now} /></td>
                <td>{e.actor}</td>
                <td>{e.method} {e.route}{e.project === null ? <span class="muted"> (hub-wide)</span> : ""}</td>
                <td>{e.target}</td>
                <td class="hide-sm" data-col="from">{e.sourceIp ?? <span class="muted">unknown</span>}</td>
                <td><Badge state={e.status < 400 ? "succeeded" : "failed"}>{String(e.status)}</Badge></td>
              </tr>
            ))}
            {!props.entries.length && <tr><td colspan={6} class="muted">Nothing recorded yet.</td></tr>}
          </tbody>
        </table>
      </div>
      {props.more && older && (
        <p><a id="audit-older" href={`/ui/audit?${new URLSearchParams({ ...(props.actor ? { actor: props.actor } : {}), before: String(older.id) })}`}>Older entries</a></p>
      )}
    </Layout>
  );
}
