import { Layout } from "../layout.tsx";

/**
 * Every refusal and failure the dashboard shows: a title, the reason in words (the API's own
 * message where there is one), and where to go next. Never a stack or an internal detail.
 */
export function ErrorPage(props: { title: string; message: string; code?: string; action?: { href: string; label: string } }) {
  return (
    <Layout title={props.title}>
      <div class="login card" id="error-page" data-code={props.code ?? ""}>
        <h1>{props.title}</h1>
        <div class="error" role="alert">{props.message}</div>
        <p><a class="button" href={props.action?.href ?? "/ui"}>{props.action?.label ?? "Back to the dashboard"}</a></p>
      </div>
    </Layout>
  );
}
