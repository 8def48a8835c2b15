import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OPERATOR_ROUTES } from "../api/operator/route-table.ts";
import { startTestHub, type TestHub } from "../test-support/harness.ts";
import { openApiPath, operationId } from "./document.ts";

let t: TestHub;
beforeAll(async () => { t = await startTestHub(); });
afterAll(async () => { await t?.stop(); });

type Doc = { openapi: string; paths: Record<string, Record<string, { operationId: string; requestBody?: { content: Record<string, { schema: unknown; example?: unknown }> }; responses: Record<string, { content?: Record<string, { schema: { type?: string } }> }>; parameters: { name: string; in: string }[] }>> };

describe("/openapi.json and the API reference", () => {
  it("is an OpenAPI 3.1 document with every route of the route table, its schemas and parameters, without a token", async () => {
    const res = await fetch(`${t.hub.url}/openapi.json`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as Doc;
    expect(doc.openapi).toBe("3.1.0");
    const ids = new Set<string>();
    for (const r of OPERATOR_ROUTES) {
      const op = doc.paths[openApiPath(r.path)]?.[r.method.toLowerCase()];
      expect(op, `${r.method} ${r.path} missing`).toBeDefined();
      expect(op!.operationId).toBe(operationId(r));
      ids.add(op!.operationId);
      expect(op!.responses[String(r.status)]!.content!["application/json"]!.schema).toBeTypeOf("object");
      for (const p of Object.keys(r.params ?? {})) expect(op!.parameters).toContainEqual(expect.objectContaining({ name: p, in: "path" }));
      if (r.body && r.body !== "octet-stream") expect(op!.requestBody!.content["application/json"]!.schema).toMatchObject({ type: "object" });
    }
    expect(ids.size).toBe(OPERATOR_ROUTES.length); // operation ids are unique
    // The document says what the validator says: a strict body refuses unknown fields.
    expect(doc.paths["/api/v1/users"]!.post!.requestBody!.content["application/json"]!.schema).toMatchObject({
      additionalProperties: false, properties: { role: { enum: ["viewer", "operator", "admin"] } },
    });
  });

  it("every example in the table is a body its route accepts", () => {
    for (const r of OPERATOR_ROUTES) {
      if (r.body && r.body !== "octet-stream") expect(r.body.safeParse(r.example ?? {}).success, `${r.method} ${r.path}`).toBe(true);
    }
  });

  it("the reference page is self-contained HTML listing every route", async () => {
    const res = await fetch(`${t.hub.url}/api/docs`);
    expect(res.headers.get("content-type")).toMatch(/text\/html/);
    const html = await res.text();
    for (const r of OPERATOR_ROUTES) expect(html).toContain(`<code>${openApiPath(r.path)}</code>`);
    expect(html).not.toMatch(/<script|<link|src="http/);
  });
});
