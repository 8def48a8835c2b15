import { createContext, useContext, type Child } from "hono/jsx";
import { can } from "./projects.ts";
import type { UiSession } from "./session.ts";

/** The signed-in operator, for every page's header (null on the sign-in and error pages before sign-in). */
export const SessionContext = createContext<UiSession | null>(null);
export const useSession = (): UiSession | null => useContext(SessionContext);

/** Every page's frame: viewport meta (phones), the hub-served stylesheet, the project picker, the nav and sign-out. */
export function Layout(props: { title: string; children?: Child; script?: string; refreshTo?: string }) {
  const session = useSession();
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{props.title} · Outpost</title>
        <link rel="stylesheet" href="/ui/static/app.css" />
        {props.refreshTo && <meta http-equiv="refresh" content={`0;url=${props.refreshTo}`} />}
      </head>
      <body>
        <header>
          <a class="brand" href="/ui">Outpost</a>
          {session && <ProjectPicker session={session} />}
          {session && (
            <nav>
              <a href="/ui">Fleet</a>
              <a href="/ui/releases">Releases</a>
              <a href="/ui/rollouts">Rollouts</a>
              {can(session.project, "administer") && <a href="/ui/audit">Audit log</a>}
              <form class="inline" method="post" action="/ui/logout">
                <button class="link" type="submit" title={`signed in as ${session.actor}`}>Sign out <span class="who">{session.actor}</span></button>
              </form>
            </nav>
          )}
        </header>
        <main>{props.children}</main>
        {props.script && <script src={props.script} defer></script>}
      </body>
    </html>
  );
}

/** Works without script: pick, then Switch (the choice is kept in a cookie; every page then acts in that project). */
function ProjectPicker(props: { session: UiSession }) {
  const { projects, project } = props.session;
  return (
    <form class="picker" method="post" action="/ui/project" id="project-picker">
      <label>
        <span class="muted-inv">Project</span>
        <select name="project" aria-label="project">
          {projects.map((p) => <option value={p.name} selected={p.name === project.name}>{p.name} ({p.role})</option>)}
        </select>
      </label>
      <button type="submit" class="secondary small">Switch</button>
    </form>
  );
}
