/**
 * Percent-encodes a string's UTF-8 bytes for a URL path segment or query value. encodeURIComponent
 * throws on an unpaired surrogate, which fuzzers produce; Buffer turns it into U+FFFD instead.
 */
export function percentEncode(v: unknown): string {
  const s = typeof v === "string" ? v : JSON.stringify(v) ?? "";
  let out = "";
  for (const b of Buffer.from(s, "utf8")) {
    const ch = String.fromCharCode(b);
    out += /[A-Za-z0-9._~-]/.test(ch) ? ch : `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}
