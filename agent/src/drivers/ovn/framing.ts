import { StringDecoder } from "node:string_decoder";

/**
 * Splits an OVSDB JSON-RPC byte stream into messages. RFC 7047 puts JSON texts back to back on
 * the connection with no length prefix or delimiter (ovsdb-server writes no newline), so the only
 * way to find a message's end is to track bracket depth outside strings. Pure: no I/O, fed chunks
 * exactly as the socket delivers them, split anywhere (even inside a multi-byte UTF-8 character).
 */
export class JsonStreamSplitter {
  private readonly decoder = new StringDecoder("utf8");
  private buf = "";
  /** Scan state carried between chunks, so each byte is looked at once (no quadratic rescans). */
  private pos = 0;
  private depth = 0;
  private inString = false;
  private escaped = false;
  private start = -1;

  /** @param maxBytes a message longer than this many characters is refused (a broken or hostile peer must not eat memory). */
  constructor(private readonly maxBytes = 64 * 1024 * 1024) {}

  /** Feeds one chunk; returns the complete messages it finished, parsed. Throws on malformed input. */
  push(chunk: Buffer | string): unknown[] {
    this.buf += typeof chunk === "string" ? chunk : this.decoder.write(chunk);
    const out: unknown[] = [];
    for (; this.pos < this.buf.length; this.pos++) {
      const c = this.buf.charCodeAt(this.pos);
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === 0x5c /* \ */) this.escaped = true;
        else if (c === 0x22 /* " */) this.inString = false;
        continue;
      }
      if (this.depth === 0) {
        if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) continue;
        if (c !== 0x7b /* { */ && c !== 0x5b /* [ */) throw new SyntaxError(`OVSDB stream: expected a JSON object, got ${JSON.stringify(this.buf[this.pos])}`);
        this.start = this.pos;
      }
      if (c === 0x22) this.inString = true;
      else if (c === 0x7b || c === 0x5b) this.depth++;
      else if (c === 0x7d || c === 0x5d) {
        this.depth--;
        if (this.depth === 0) {
          out.push(JSON.parse(this.buf.slice(this.start, this.pos + 1)));
          this.start = -1;
        }
      }
    }
    // Drop what has been consumed; keep only the unfinished message (if any).
    const keepFrom = this.start >= 0 ? this.start : this.buf.length;
    this.buf = this.buf.slice(keepFrom);
    this.pos -= keepFrom;
    if (this.start >= 0) this.start = 0;
    if (this.buf.length > this.maxBytes) throw new RangeError(`OVSDB stream: a message exceeds ${this.maxBytes} characters`);
    return out;
  }

  /** True when no partial message is buffered. */
  get idle(): boolean {
    return this.buf.length === 0;
  }
}
