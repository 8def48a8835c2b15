import type { Child } from "hono/jsx";

/** Every page's frame: viewport meta (phones), the hub-served stylesheet, the nav and sign-out. */
export function Layout(props: { title: string; signedIn?: boolean; children?: Child; script?: string }) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{props.title} · Outpost</title>
        <link rel="stylesheet" href="/ui/static/app.css" />
      </head>
      <body>
        <header>
          <a class="brand" href="/ui">Outpost</a>
          {props.signedIn !== false && (
            <nav>
              <a href="/ui">Fleet</a>
              <a href="/ui/releases">Releases</a>
              <a href="/ui/rollouts">Rollouts</a>
              <a href="/ui/audit">Audit log</a>
              <form class="inline" method="post" action="/ui/logout"><button class="link" type="submit">Sign out</button></form>
            </nav>
          )}
        </header>
        <main>{props.children}</main>
        {props.script && <script src={props.script} defer></script>}
      </body>
    </html>
  );
}
