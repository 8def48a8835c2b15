import { Layout } from "../layout.tsx";

/** Why the browser was signed out, by the API's error code: fixed words, never text from the URL. */
const SIGNED_OUT: Record<string, string> = {
  AUTH_EXPIRED: "Your API token has expired. Sign in with a new one.",
  OIDC_EXPIRED: "Your sign-in has expired. Sign in again.",
  AUTH_REVOKED: "Your API token was revoked. Sign in with another one.",
  AUTH_INVALID: "The hub no longer accepts your token. Sign in again.",
  OIDC_INVALID: "The hub no longer accepts your sign-in. Sign in again.",
};
export const signedOutMessage = (why: string | undefined): string | undefined => (why ? SIGNED_OUT[why] : undefined);

/**
 * Sign-in: "Sign in with <issuer>" (the OIDC authorization-code flow, when OIDC is configured),
 * or paste an operator API token (or an OIDC ID token) that goes to the API unchanged.
 */
export function LoginPage(props: { next: string; error?: string; notice?: string; oidcIssuer?: string }) {
  return (
    <Layout title="Sign in">
      <div class="login card">
        <h1>Sign in</h1>
        {props.notice && <div class="notice" role="status" id="signed-out">{props.notice}</div>}
        {props.error && <div class="error" role="alert">{props.error}</div>}
        {props.oidcIssuer && (
          <p><a class="button" id="oidc-sign-in" href={`/ui/oidc/start?next=${encodeURIComponent(props.next)}`}>Sign in with {issuerName(props.oidcIssuer)}</a></p>
        )}
        <form class="form" method="post" action="/ui/login">
          <input type="hidden" name="next" value={props.next} />
          <label>{props.oidcIssuer ? "Or paste a token" : "Token"}
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

/** What people call their identity provider: its host (`login.example.org`), not the whole URL. */
function issuerName(issuer: string): string {
  try { return new URL(issuer).host; } catch { return issuer; }
}
