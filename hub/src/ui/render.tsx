import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { JSX } from "hono/jsx/jsx-runtime";
import { SessionContext } from "./layout.tsx";
import type { UiEnv } from "./session.ts";

/** A page as the response, with the signed-in operator (when there is one) for its header. */
export function render(c: Context<UiEnv>, page: JSX.Element, status: ContentfulStatusCode = 200): Response | Promise<Response> {
  const session = c.get("session") ?? null;
  return c.html(`<!doctype html>${String(<SessionContext.Provider value={session}>{page}</SessionContext.Provider>)}`, status);
}
