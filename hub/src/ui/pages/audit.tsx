import type { AuditLog } from "../audit-source.ts";
import { Ago } from "../components.tsx";
import { Layout } from "../layout.tsx";

export function AuditPage(props: { log: AuditLog; now: Date }) {
  return (
    <Layout title="Audit log">
      <h1>Audit log</h1>
      {props.log.source !== "audit" && (
        <div class="notice" role="note">The hub-wide audit log is not available on this hub yet. Shown here: the operator
          actions recorded in rollout histories.</div>
      )}
      <div class="table-wrap">
        <table id="audit">
          <thead><tr><th>When</th><th>Who</th><th>Action</th><th>Target</th></tr></thead>
          <tbody>
            {props.log.entries.map((e) => (
              <tr><td><Ago at={e.at} now={props.now} /></td><td>{e.actor}</td><td>{e.action}{e.detail ? ` (${e.detail})` : ""}</td><td>{e.target}</td></tr>
            ))}
            {!props.log.entries.length && <tr><td colspan={4} class="muted">Nothing recorded yet.</td></tr>}
          </tbody>
        </table>
      </div>
    </Layout>
  );
}
