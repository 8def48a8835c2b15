import { z } from "zod";
import { DEFAULT_PROJECT_NAME, PROJECT_HEADER } from "@outpost/shared";
import { describeNeed, OPERATOR_ROUTES, type OperatorRoute } from "../api/operator/route-table.ts";

/**
 * The OpenAPI 3.1 document of the operator API, built from the route table and the very zod
 * schemas the routes validate with (z.toJSONSchema), so the document cannot drift from the code.
 */
export type OpenApiDoc = {
  openapi: "3.1.0";
  info: { title: string; version: string; description: string };
  paths: Record<string, Record<string, Operation>>;
  components: { securitySchemes: Record<string, unknown> };
  security: Record<string, string[]>[];
};
type Operation = {
  operationId: string; summary: string; description: string; tags: string[];
  parameters: unknown[]; requestBody?: unknown; responses: Record<string, unknown>; "x-outpost-need": string;
};

const API_PREFIX = "/api/v1";
/** Input schemas document what a caller may send (defaults optional); outputs what comes back. */
const schemaOf = (s: z.ZodType, io: "input" | "output") => z.toJSONSchema(s, { io, unrepresentable: "any", target: "draft-2020-12" });
const errorSchema = { $ref: "#/components/schemas/ApiError" };

export function openApiPath(path: string): string { return API_PREFIX + path.replace(/:([A-Za-z_]+)/g, "{$1}"); }

export function operationId(r: OperatorRoute): string {
  const words = r.path.split("/").filter(Boolean).map((w) => w.replace(/^:/, "by-"));
  return [r.method.toLowerCase(), ...words].join("-").replace(/-([a-z])/g, (_m, ch: string) => ch.toUpperCase());
}

export function buildOpenApi(version = "0.1.0"): OpenApiDoc {
  const paths: OpenApiDoc["paths"] = {};
  for (const r of OPERATOR_ROUTES) {
    const p = openApiPath(r.path);
    const projectScoped = typeof r.need === "object";
    const parameters: unknown[] = [
      ...Object.entries(r.params ?? {}).map(([name, s]) => ({ name, in: "path", required: true, schema: schemaOf(s, "input") })),
      ...queryParams(r.query),
      ...(projectScoped ? [{ name: PROJECT_HEADER, in: "header", required: false, description: `Project to act in (default \`${DEFAULT_PROJECT_NAME}\`)`, schema: { type: "string" } }] : []),
    ];
    const requestBody = r.body === undefined ? undefined : r.body === "octet-stream"
      ? { required: true, content: { "application/octet-stream": { schema: { type: "string", format: "binary" } } } }
      : { required: false, content: { "application/json": { schema: schemaOf(r.body, "input"), ...(r.example === undefined ? {} : { example: r.example }) } } };
    (paths[p] ??= {})[r.method.toLowerCase()] = {
      operationId: operationId(r),
      summary: r.summary,
      description: `Requires: ${describeNeed(r.need)}.`,
      tags: [r.path.split("/")[1]!],
      parameters,
      ...(requestBody ? { requestBody } : {}),
      responses: {
        [String(r.status)]: { description: "success", content: { "application/json": { schema: schemaOf(r.response, "output") } } },
        ...(r.body !== undefined || r.query || r.params ? { 400: { description: "invalid input; `error.issues` names each field", content: { "application/json": { schema: errorSchema } } } } : {}),
        401: { description: "no token, or one the hub does not accept", content: { "application/json": { schema: errorSchema } } },
        ...(r.need !== "caller" ? { 403: { description: "the caller's role does not allow this", content: { "application/json": { schema: errorSchema } } } } : {}),
      },
      "x-outpost-need": describeNeed(r.need),
    };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "Outpost operator API", version,
      description: `Fleet management for edge clouds. Authenticate with \`Authorization: Bearer <API token or OIDC token>\`; choose the project with the \`${PROJECT_HEADER}\` header.`,
    },
    paths,
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer", description: "An Outpost API token (opa_...) or an OIDC ID/access token" } },
      ...{ schemas: { ApiError: apiErrorSchema() } },
    } as OpenApiDoc["components"],
    security: [{ bearer: [] }],
  };
}

function queryParams(q: z.ZodObject | undefined): unknown[] {
  if (!q) return [];
  return Object.entries(q.shape).map(([name, s]) => ({
    name, in: "query", required: !(s as z.ZodType).safeParse(undefined).success, schema: schemaOf(s as z.ZodType, "input"),
  }));
}

function apiErrorSchema() {
  return {
    type: "object", required: ["error"],
    properties: { error: { type: "object", required: ["code", "message"], properties: {
      code: { type: "string" }, message: { type: "string" },
      issues: { type: "array", items: { type: "object", properties: { path: { type: "string" }, message: { type: "string" } } } },
    } } },
  };
}
