import { Layout } from "../layout.tsx";

/** Sign-in: paste an operator API token, or an OIDC ID token; both go to the API unchanged. */
export function LoginPage(props: { next: string; error?: string }) {
  return (
    <Layout title="Sign in" signedIn={false}>
      <div class="login card">
        <h1>Sign in</h1>
        {props.error && <div class="error" role="alert">{props.error}</div>}
        <form class="form" method="post" action="/ui/login">
          <input type="hidden" name="next" value={props.next} />
          <label>Token
            <input name="token" type="password" autocomplete="off" required placeholder="opa_… or an OIDC ID token" />
          </label>
          <p class="muted" style="margin:0">An operator API token (as printed by <code>outpost hub start</code>) or an OIDC ID token
            from your identity provider. It is kept in an HttpOnly cookie for this browser only.</p>
          <button type="submit">Sign in</button>
        </form>
      </div>
    </Layout>
  );
}
