import type { z } from "zod";
import type { ReleaseView } from "@outpost/shared";
import { Ago } from "../components.tsx";
import { Layout } from "../layout.tsx";

export function ReleasesPage(props: { releases: z.output<typeof ReleaseView>[]; now: Date }) {
  return (
    <Layout title="Releases">
      <h1>Releases</h1>
      <div class="table-wrap">
        <table id="releases">
          <thead><tr><th>Release</th><th>Description</th><th class="hide-sm">Artifacts</th><th>Created</th></tr></thead>
          <tbody>
            {props.releases.map((r) => (
              <tr><td>{r.name}@{r.version}</td><td>{r.description}</td><td class="hide-sm">{r.artifacts.length}</td><td><Ago at={r.createdAt} now={props.now} /></td></tr>
            ))}
            {!props.releases.length && <tr><td colspan={4} class="muted">No releases: <code>outpost release create -f release.yaml</code>.</td></tr>}
          </tbody>
        </table>
      </div>
    </Layout>
  );
}
