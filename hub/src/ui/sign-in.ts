import type { MiddlewareHandler } from "hono";
import type { HubDeps } from "../api/deps.ts";
import { recordAudit, sourceIp } from "../audit/log.ts";
import type { UiEnv } from "./session.ts";

/**
 * Audits a dashboard sign-in (pasted token or OIDC callback), refused ones included: who it turned
 * out to be (or `anonymous`), from where, and the answer's status. It is hub-wide (no project), so
 * hub admins see it in their audit log. Nothing of the token is recorded.
 */
export function auditSignIn(deps: Pick<HubDeps, "hub" | "logger" | "now" | "trustedProxies">, route: string): MiddlewareHandler<UiEnv> {
  return async (c, next) => {
    await next();
    await recordAudit(deps, {
      at: deps.now(), actor: c.get("signInActor") ?? "anonymous", projectId: null, method: c.req.method, route,
      target: "", sourceIp: sourceIp(c, deps.trustedProxies), status: c.res.status, requestId: c.get("requestId") ?? "",
    });
  };
}
