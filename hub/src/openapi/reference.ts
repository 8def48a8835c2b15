import type { OpenApiDoc } from "./document.ts";

const esc = (s: string): string => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

/**
 * The API reference as one self-contained HTML page (no scripts, no CDN): a hub on an isolated
 * network serves a page that works there. Each operation shows who may call it, its parameters
 * and, collapsed, the JSON schemas of its body and answer.
 */
export function renderReference(doc: OpenApiDoc): string {
  const ops = Object.entries(doc.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ path, method, op })));
  const rows = ops.map(({ path, method, op }) => {
    const params = (op.parameters as { name: string; in: string; required?: boolean }[])
      .map((p) => `<code>${esc(p.name)}</code> <small>(${p.in}${p.required ? ", required" : ""})</small>`).join(", ");
    const body = op.requestBody ? `<details><summary>request body</summary><pre>${esc(JSON.stringify(op.requestBody, null, 2))}</pre></details>` : "";
    const answer = `<details><summary>responses</summary><pre>${esc(JSON.stringify(op.responses, null, 2))}</pre></details>`;
    return `<section id="${esc(op.operationId)}"><h3><span class="m ${method}">${method.toUpperCase()}</span> <code>${esc(path)}</code></h3>
<p>${esc(op.summary)}. <em>${esc(op.description)}</em></p>${params ? `<p>Parameters: ${params}</p>` : ""}${body}${answer}</section>`;
  }).join("\n");
  const toc = ops.map(({ path, method, op }) => `<li><a href="#${esc(op.operationId)}">${method.toUpperCase()} ${esc(path)}</a></li>`).join("");
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(doc.info.title)}</title>
<style>body{font:15px/1.45 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
code,pre{font-family:ui-monospace,monospace}pre{background:#f5f5f5;padding:.6rem;overflow:auto;font-size:12px}
section{border-top:1px solid #ddd;padding:.4rem 0}.m{display:inline-block;min-width:4.2rem;font-size:12px;padding:2px 6px;border-radius:3px;color:#fff;background:#555}
.get{background:#2a7}.post{background:#27a}.put,.patch{background:#a72}.delete{background:#a33}ul{columns:2}</style></head>
<body><h1>${esc(doc.info.title)} <small>${esc(doc.info.version)}</small></h1><p>${esc(doc.info.description)}</p>
<p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI ${esc(doc.openapi)}).</p><ul>${toc}</ul>${rows}</body></html>`;
}
