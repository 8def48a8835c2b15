/**
 * Kubernetes-style label selectors, the equality- and set-based subset:
 *   region=eu, tier!=canary, env in (prod,staging), chain notin (x), gpu, !legacy
 * Parsing is strict: anything else is an error that names the offending term.
 */
export type Requirement =
  | { key: string; op: "=" | "!="; value: string }
  | { key: string; op: "in" | "notin"; values: string[] }
  | { key: string; op: "exists" | "!exists" };

const KEY = "[A-Za-z0-9]([A-Za-z0-9._/-]{0,126}[A-Za-z0-9])?";
const VAL = "[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?";
export const LABEL_KEY_RE = new RegExp(`^${KEY}$`);
export const LABEL_VALUE_RE = new RegExp(`^(${VAL})?$`);

export class SelectorError extends Error { constructor(message: string) { super(message); this.name = "SelectorError"; } }

/** Splits on commas that are not inside parentheses. */
function terms(s: string): string[] {
  const out: string[] = []; let depth = 0; let cur = "";
  for (const ch of s) {
    if (ch === "(") depth++;
    if (ch === ")") depth--;
    if (depth < 0) throw new SelectorError(`unbalanced ')' in '${(cur + ch).trim()}'`);
    if (ch === "," && depth === 0) { out.push(cur); cur = ""; } else cur += ch;
  }
  if (depth !== 0) throw new SelectorError(`unbalanced '(' in '${cur.trim()}'`);
  out.push(cur);
  return out.map((t) => t.trim());
}

export function parseSelector(input: string): Requirement[] {
  if (input.length > 4096) throw new SelectorError("selector longer than 4096 characters");
  if (input.trim() === "") return [];
  const key = (k: string, term: string) => { if (!LABEL_KEY_RE.test(k)) throw new SelectorError(`bad label key '${k}' in '${term}'`); return k; };
  const val = (v: string, term: string) => { if (!LABEL_VALUE_RE.test(v)) throw new SelectorError(`bad label value '${v}' in '${term}'`); return v; };
  return terms(input).map((term): Requirement => {
    if (term === "") throw new SelectorError("empty term (stray comma?)");
    let m = /^(\S+?)\s+(in|notin)\s+\((.*)\)$/.exec(term);
    if (m) {
      const values = m[3]!.split(",").map((v) => val(v.trim(), term));
      return { key: key(m[1]!, term), op: m[2] as "in" | "notin", values };
    }
    m = /^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(term);
    if (m) return { key: key(m[1]!, term), op: m[2] === "!=" ? "!=" : "=", value: val(m[3]!, term) };
    m = /^!\s*(\S+)$/.exec(term);
    if (m) return { key: key(m[1]!, term), op: "!exists" };
    if (LABEL_KEY_RE.test(term)) return { key: term, op: "exists" };
    throw new SelectorError(`cannot parse '${term}'`);
  });
}

export function matches(reqs: Requirement[], labels: Record<string, string>): boolean {
  return reqs.every((r) => {
    const has = Object.hasOwn(labels, r.key);
    const v = labels[r.key];
    switch (r.op) {
      case "=": return has && v === r.value;
      case "!=": return !has || v !== r.value;
      case "in": return has && r.values.includes(v!);
      case "notin": return !has || !r.values.includes(v!);
      case "exists": return has;
      case "!exists": return !has;
    }
  });
}
