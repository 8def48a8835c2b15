/**
 * A small OVSDB (RFC 7047) JSON-RPC client over a unix socket or TCP. No maintained OVSDB client
 * exists on the npm registry, and the driver needs only `transact`, `list_dbs` and `echo`, so this
 * is written here: one lazily opened connection, request ids, per-request timeouts, answers to the
 * server's `echo` keepalive, and a transparent reconnect on the next call after the connection drops.
 *
 * What it deliberately does not do: retry a transaction that may have been sent. Whether a write
 * whose answer was lost committed is unknowable here; the driver's steps are idempotent and the
 * reconciler retries them. Read-only requests (`idempotent: true`) are retried once when a reused
 * connection turns out to have died while idle (server restart, idle timeout on a middlebox).
 */
import net from "node:net";
import type { Logger } from "pino";
import { JsonStreamSplitter } from "./framing.ts";
import type { Json } from "./datum.ts";

export type OvsdbRemote = { kind: "unix"; path: string } | { kind: "tcp"; host: string; port: number };

/** `unix:/path/to/sock` or `tcp:host:port` (`tcp:[::1]:6641` for IPv6), as ovn-nbctl's --db takes them. */
export function parseRemote(remote: string): OvsdbRemote {
  if (remote.startsWith("unix:")) {
    const path = remote.slice(5);
    if (!path) throw new Error(`OVSDB remote ${JSON.stringify(remote)}: empty socket path`);
    return { kind: "unix", path };
  }
  if (remote.startsWith("tcp:")) {
    const m = /^tcp:(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(remote);
    const port = m ? Number(m[3]) : NaN;
    if (!m || port < 1 || port > 65535) throw new Error(`OVSDB remote ${JSON.stringify(remote)}: expected tcp:HOST:PORT`);
    return { kind: "tcp", host: (m[1] ?? m[2])!, port };
  }
  throw new Error(`OVSDB remote ${JSON.stringify(remote)}: only unix:PATH and tcp:HOST:PORT are supported (no ssl: yet)`);
}

export class OvsdbError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "OvsdbError";
  }
}
/** Could not connect, or the connection closed before the answer came. */
export class OvsdbConnectionError extends OvsdbError {
  constructor(message: string, readonly code?: string) {
    super(message);
    this.name = "OvsdbConnectionError";
  }
}
export class OvsdbTimeoutError extends OvsdbError {
  constructor(message: string) {
    super(message);
    this.name = "OvsdbTimeoutError";
  }
}
/** The server answered the JSON-RPC request with an error (unknown database, syntax error...). */
export class OvsdbRpcError extends OvsdbError {
  constructor(readonly method: string, readonly error: unknown) {
    super(`OVSDB ${method} failed: ${typeof error === "string" ? error : JSON.stringify(error)}`);
    this.name = "OvsdbRpcError";
  }
}
/**
 * A transaction was aborted (RFC 7047 §4.1.3): nothing in it was committed. `error` is the
 * server's error string ("constraint violation", "referential integrity violation", "timed out"
 * for a failed `wait`...), `opIndex` the failing operation, or -1 when the commit itself failed.
 */
export class OvsdbTransactionError extends OvsdbError {
  constructor(readonly error: string, readonly details: string | undefined, readonly opIndex: number, readonly op: Operation | undefined) {
    super(`OVSDB transaction aborted: ${error}${details ? ` (${details})` : ""}${op ? ` in operation ${opIndex} (${String(op.op)} ${String(op.table ?? "")})` : ""}`);
    this.name = "OvsdbTransactionError";
  }
}

export type Operation = { op: string; [k: string]: Json };
export type OperationResult = { [k: string]: Json } | null;

export interface OvsdbClientOptions {
  remote: string;
  /** How long one request may wait for its answer (default 10 s). A timeout also drops the connection. */
  requestTimeoutMs?: number;
  /** How long connecting may take (default 5 s). */
  connectTimeoutMs?: number;
  log?: Pick<Logger, "debug" | "warn">;
}

export interface RequestOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Safe to send twice: retried once if a reused connection turns out dead. */
  idempotent?: boolean;
}

interface Pending { method: string; resolve(v: unknown): void; reject(e: Error): void; timer: NodeJS.Timeout }

class Connection {
  readonly pending = new Map<number, Pending>();
  private readonly splitter = new JsonStreamSplitter();
  closed = false;
  /** Set once anything was sent on it: a failure on a used connection may be staleness, not a dead server. */
  used = false;

  constructor(readonly socket: net.Socket, private readonly label: string, private readonly log?: Pick<Logger, "debug" | "warn">, private readonly onClose?: () => void) {
    socket.on("data", (chunk: Buffer) => {
      let msgs: unknown[];
      try {
        msgs = this.splitter.push(chunk);
      } catch (e) {
        this.fail(new OvsdbConnectionError(`OVSDB ${label}: unreadable data from the server: ${(e as Error).message}`));
        return;
      }
      for (const m of msgs) this.onMessage(m);
    });
    socket.on("error", (e: NodeJS.ErrnoException) => this.fail(new OvsdbConnectionError(`OVSDB ${label}: ${e.message}`, e.code)));
    socket.on("close", () => this.fail(new OvsdbConnectionError(`OVSDB ${label}: connection closed by the server`)));
    // An idle connection must not keep the agent process alive; pending requests ref it again.
    socket.unref();
  }

  send(msg: object): void {
    this.used = true;
    this.socket.write(JSON.stringify(msg));
  }

  track(id: number, p: Pending): void {
    this.pending.set(id, p);
    this.socket.ref();
  }

  settle(id: number): Pending | undefined {
    const p = this.pending.get(id);
    if (!p) return undefined;
    clearTimeout(p.timer);
    this.pending.delete(id);
    if (this.pending.size === 0) this.socket.unref();
    return p;
  }

  fail(err: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.destroy();
    for (const id of [...this.pending.keys()]) this.settle(id)!.reject(err);
    this.onClose?.();
  }

  private onMessage(m: unknown): void {
    if (!m || typeof m !== "object" || Array.isArray(m)) return;
    const msg = m as { id?: unknown; method?: unknown; params?: unknown; result?: unknown; error?: unknown };
    if (typeof msg.method === "string") {
      // The server probes an idle connection with "echo" and drops it when unanswered (RFC 7047 §4.1.11).
      if (msg.method === "echo") this.send({ id: msg.id ?? null, result: msg.params ?? [], error: null });
      else if (msg.id !== undefined && msg.id !== null) this.send({ id: msg.id, result: null, error: `unsupported method ${msg.method}` });
      else this.log?.debug({ method: msg.method }, `OVSDB ${this.label}: ignored notification`);
      return;
    }
    if (typeof msg.id !== "number") return;
    const p = this.settle(msg.id);
    if (!p) return; // answer to a request that timed out or was abandoned
    if (msg.error !== null && msg.error !== undefined) p.reject(new OvsdbRpcError(p.method, msg.error));
    else p.resolve(msg.result);
  }
}

export class OvsdbClient {
  readonly remote: OvsdbRemote;
  private readonly label: string;
  private readonly requestTimeoutMs: number;
  private readonly connectTimeoutMs: number;
  private conn?: Connection;
  private connecting?: Promise<Connection>;
  private nextId = 1;
  private closedByUser = false;

  constructor(private readonly opts: OvsdbClientOptions) {
    this.remote = parseRemote(opts.remote);
    this.label = opts.remote;
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 10_000;
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 5_000;
  }

  /** Sends one JSON-RPC request and waits for its answer. */
  async request(method: string, params: Json[], ro: RequestOptions = {}): Promise<unknown> {
    const { conn, reused } = await this.connection(ro.signal);
    try {
      return await this.requestOn(conn, method, params, ro);
    } catch (e) {
      // A timeout is not staleness: the server may be stuck, and asking again would double the wait.
      const stale = reused && e instanceof OvsdbConnectionError;
      if (!stale || !ro.idempotent) throw e;
      this.opts.log?.debug({ remote: this.label, method }, "OVSDB connection went stale; retrying on a new one");
      return this.requestOn((await this.connection(ro.signal)).conn, method, params, ro);
    }
  }

  /**
   * Runs one transaction (RFC 7047 §4.1.3): all operations commit together or none does. Returns
   * one result per operation; throws OvsdbTransactionError when the server aborted it.
   */
  async transact(db: string, ops: readonly Operation[], ro: RequestOptions = {}): Promise<OperationResult[]> {
    const result = await this.request("transact", [db, ...ops], ro);
    if (!Array.isArray(result)) throw new OvsdbError(`OVSDB transact: expected an array of results, got ${JSON.stringify(result)}`);
    const results = result as OperationResult[];
    const bad = results.findIndex((r) => r !== null && typeof r === "object" && "error" in r && r.error !== null);
    if (bad >= 0) {
      const r = results[bad]!;
      throw new OvsdbTransactionError(String(r.error), typeof r.details === "string" ? r.details : undefined, bad < ops.length ? bad : -1, ops[bad]);
    }
    return results;
  }

  /** All rows of `table` matching `where`, with their `_uuid` always (a select of only some columns merges identical rows). */
  async select(db: string, table: string, columns: readonly string[], where: Json[] = [], ro: RequestOptions = {}): Promise<Record<string, Json>[]> {
    const cols = columns.includes("_uuid") ? [...columns] : ["_uuid", ...columns];
    const [r] = await this.transact(db, [{ op: "select", table, where, columns: cols }], { idempotent: true, ...ro });
    return ((r as { rows?: Record<string, Json>[] } | null)?.rows) ?? [];
  }

  async listDbs(ro: RequestOptions = {}): Promise<string[]> {
    return (await this.request("list_dbs", [], { idempotent: true, ...ro })) as string[];
  }

  /** A round trip: proves the server is alive and answering. */
  async echo(ro: RequestOptions = {}): Promise<void> {
    await this.request("echo", ["outpost"], { idempotent: true, ...ro });
  }

  /** Closes the connection; a later request opens a new one. */
  close(): void {
    this.closedByUser = true;
    this.conn?.fail(new OvsdbConnectionError(`OVSDB ${this.label}: client closed`));
    this.conn = undefined;
    this.closedByUser = false;
  }

  get connected(): boolean {
    return !!this.conn && !this.conn.closed;
  }

  private requestOn(conn: Connection, method: string, params: Json[], ro: RequestOptions): Promise<unknown> {
    const timeoutMs = ro.timeoutMs ?? this.requestTimeoutMs;
    const id = this.nextId++;
    return new Promise<unknown>((resolve, reject) => {
      if (ro.signal?.aborted) return reject(abortError(method));
      const onAbort = () => {
        // The request may still be carried out by the server; its late answer is ignored.
        if (conn.settle(id)) reject(abortError(method));
      };
      const timer = setTimeout(() => {
        // A server that does not answer in time is stuck or unreachable: drop the connection so the
        // next request starts afresh instead of queueing behind it.
        conn.fail(new OvsdbTimeoutError(`OVSDB ${this.label}: no answer to ${method} within ${timeoutMs} ms`));
      }, timeoutMs);
      ro.signal?.addEventListener("abort", onAbort, { once: true });
      const done = () => ro.signal?.removeEventListener("abort", onAbort);
      conn.track(id, {
        method, timer,
        resolve: (v) => { done(); resolve(v); },
        reject: (e) => { done(); reject(e); },
      });
      conn.send({ id, method, params });
    });
  }

  /** The open connection, or a new one; `reused` when it had carried requests before this one. */
  private async connection(signal?: AbortSignal): Promise<{ conn: Connection; reused: boolean }> {
    if (this.conn && !this.conn.closed) return { conn: this.conn, reused: this.conn.used };
    this.connecting ??= this.open().finally(() => { this.connecting = undefined; });
    const conn = await this.connecting;
    if (signal?.aborted) throw abortError("connect");
    return { conn, reused: false };
  }

  private open(): Promise<Connection> {
    return new Promise<Connection>((resolve, reject) => {
      const r = this.remote;
      const socket = r.kind === "unix" ? net.connect({ path: r.path }) : net.connect({ host: r.host, port: r.port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new OvsdbTimeoutError(`OVSDB ${this.label}: could not connect within ${this.connectTimeoutMs} ms`));
      }, this.connectTimeoutMs);
      const onError = (e: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(new OvsdbConnectionError(`OVSDB ${this.label}: cannot connect: ${e.message}`, e.code));
      };
      socket.once("error", onError);
      socket.once("connect", () => {
        clearTimeout(timer);
        socket.off("error", onError);
        if (r.kind === "tcp") {
          socket.setNoDelay(true);
          socket.setKeepAlive(true, 30_000);
        }
        const conn = new Connection(socket, this.label, this.opts.log, () => {
          if (this.conn === conn) this.conn = undefined;
          if (!this.closedByUser) this.opts.log?.debug({ remote: this.label }, "OVSDB connection closed; the next request reconnects");
        });
        this.conn = conn;
        resolve(conn);
      });
    });
  }
}

function abortError(method: string): Error {
  return Object.assign(new Error(`OVSDB ${method} abandoned (aborted)`), { name: "AbortError" });
}
