import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { z } from "zod";
import type { ApiError } from "@outpost/shared";

export interface Issue { path: string; message: string }

/**
 * The one way a handler refuses a request: throw `new HttpError(...)` (or return `errorResponse`).
 * The app's error handler turns it into the shared `ApiError` body; thrown inside a transaction it
 * also rolls the transaction back, so a refused request changes nothing.
 */
export class HttpError extends Error {
  constructor(readonly status: ContentfulStatusCode, readonly code: string, message: string, readonly issues?: Issue[]) {
    super(message);
    this.name = "HttpError";
  }
}

export function errorBody(code: string, message: string, issues?: Issue[]): ApiError {
  return { error: { code, message, ...(issues?.length ? { issues } : {}) } };
}

export function errorResponse(c: Context, e: HttpError): Response {
  return c.json(errorBody(e.code, e.message, e.issues), e.status);
}

/**
 * zod issues as `{path: "spec.lxd.instances.0.name", message}`. An unknown field is reported at its
 * own path (zod puts it on the parent), so the message names the field that has to go.
 */
export function issuesFrom(issues: readonly z.core.$ZodIssue[], prefix: PropertyKey[] = []): Issue[] {
  const out: Issue[] = [];
  for (const issue of issues) {
    const base = [...prefix, ...issue.path];
    const at = (p: PropertyKey[]) => p.map(String).join(".") || "(body)";
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) out.push({ path: at([...base, key]), message: "unknown field" });
    } else if (issue.code === "invalid_union" && issue.errors.length) {
      // Report the branch that got furthest (deepest paths), not a vague "invalid input".
      const depth = issue.errors.map((branch) => Math.max(0, ...branch.map((i) => i.path.length)));
      out.push(...issuesFrom(issue.errors[depth.indexOf(Math.max(...depth))]!, base));
    } else {
      out.push({ path: at(base), message: issue.message });
    }
  }
  return out;
}

export function validationError(error: z.ZodError, what: string, prefix: PropertyKey[] = []): HttpError {
  const issues = issuesFrom(error.issues, prefix);
  const first = issues[0];
  const message = first ? `invalid ${what}: ${first.path}: ${first.message}` : `invalid ${what}`;
  return new HttpError(400, "VALIDATION", message, issues);
}
