/**
 * The `Range` header of an artifact download, decided without I/O (RFC 9110 §14). Agents resume an
 * interrupted download with `bytes=N-`; `bytes=N-M` and suffix ranges (`bytes=-N`) work too.
 * A header this does not understand (another unit, several ranges, garbage) is ignored and the whole
 * artifact is sent, as the RFC allows: the client then sees a 200 and starts over rather than
 * splicing bytes it did not ask for. There is no If-Range: an artifact URL is its digest, so the
 * bytes behind it never change.
 */
export type RangeAnswer =
  | { kind: "full" }
  | { kind: "partial"; start: number; end: number }
  | { kind: "unsatisfiable" };

const SINGLE = /^bytes=(\d*)-(\d*)$/;

export function parseRange(header: string | null | undefined, size: number): RangeAnswer {
  if (!header) return { kind: "full" };
  const m = SINGLE.exec(header.trim().replace(/\s+/g, ""));
  if (!m) return { kind: "full" };
  const [, a = "", b = ""] = m;
  if (a === "" && b === "") return { kind: "full" };
  const first = a === "" ? null : Number(a);
  const last = b === "" ? null : Number(b);
  if ((first !== null && !Number.isSafeInteger(first)) || (last !== null && !Number.isSafeInteger(last))) return { kind: "full" };
  if (first === null) {
    // Suffix: the last `last` bytes.
    if (last === 0 || size === 0) return { kind: "unsatisfiable" };
    return { kind: "partial", start: Math.max(0, size - last!), end: size - 1 };
  }
  if (last !== null && last < first) return { kind: "full" }; // invalid range-spec: ignored
  if (first >= size) return { kind: "unsatisfiable" };
  return { kind: "partial", start: first, end: Math.min(last ?? size - 1, size - 1) };
}

export function contentRange(r: { start: number; end: number }, size: number): string {
  return `bytes ${r.start}-${r.end}/${size}`;
}
