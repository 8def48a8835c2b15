// The OVSDB client against a real ovsdb-server holding an OVN Northbound database. Connection faults
// (a dropped connection, a server that stops answering) come from a small TCP relay between the
// client and the real server, which the test can cut or silence.
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { start, type OvnHandle } from "../../../../test/daemons/ovn.ts";
import { map, set, uuid } from "./datum.ts";
import { NB_DB } from "./nb.ts";
import { OvsdbClient, OvsdbConnectionError, OvsdbRpcError, OvsdbTimeoutError, OvsdbTransactionError, parseRemote } from "./ovsdb.ts";

/** A TCP relay to `target`: counts connections, records traffic, and can drop or swallow it. */
async function relay(target: { host: string; port: number }) {
  const sockets = new Set<net.Socket>();
  const state = { connections: 0, mode: "pass" as "pass" | "swallow" | "cut-on-request", fromServer: "", fromClient: "" };
  const server = net.createServer((client) => {
    state.connections++;
    const up = net.connect(target);
    sockets.add(client).add(up);
    const cut = () => { client.destroy(); up.destroy(); };
    client.on("data", (d) => {
      if (state.mode === "swallow") return;
      if (state.mode === "cut-on-request") { state.mode = "pass"; return cut(); }
      state.fromClient += d.toString();
      up.write(d);
    });
    up.on("data", (d) => { state.fromServer += d.toString(); client.write(d); });
    client.on("close", cut).on("error", cut);
    up.on("close", cut).on("error", cut);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    state,
    remote: `tcp:127.0.0.1:${port}`,
    cutAll: () => { for (const s of sockets) s.destroy(); sockets.clear(); },
    close: () => new Promise<void>((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }),
  };
}

const switchNames = async (c: OvsdbClient) => (await c.select(NB_DB, "Logical_Switch", ["name"])).map((r) => r.name).sort();

describe("parseRemote", () => {
  it("takes the unix: and tcp: forms ovn-nbctl --db takes", () => {
    expect(parseRemote("unix:/run/ovn/ovnnb_db.sock")).toEqual({ kind: "unix", path: "/run/ovn/ovnnb_db.sock" });
    expect(parseRemote("tcp:127.0.0.1:6641")).toEqual({ kind: "tcp", host: "127.0.0.1", port: 6641 });
    expect(parseRemote("tcp:[::1]:6641")).toEqual({ kind: "tcp", host: "::1", port: 6641 });
  });
  it("says what it expected for anything else", () => {
    expect(() => parseRemote("ssl:10.0.0.1:6641")).toThrow(/only unix:PATH and tcp:HOST:PORT/);
    expect(() => parseRemote("tcp:127.0.0.1")).toThrow(/expected tcp:HOST:PORT/);
    expect(() => parseRemote("tcp:h:70000")).toThrow(/expected tcp:HOST:PORT/);
    expect(() => parseRemote("unix:")).toThrow(/empty socket path/);
  });
});

describe("OvsdbClient against a real ovsdb-server", () => {
  let h: OvnHandle;
  let port: number;
  beforeAll(async () => {
    h = await start({ tcp: true });
    port = Number(h.nbTcpRemote!.split(":")[2]);
  });
  afterAll(async () => { await h?.stop(); });

  it("transacts over the unix socket and over TCP, and ovn-nbctl sees the result", async () => {
    const viaUnix = new OvsdbClient({ remote: h.nbRemote });
    const viaTcp = new OvsdbClient({ remote: h.nbTcpRemote! });
    try {
      expect(await viaUnix.listDbs()).toContain(NB_DB);
      const [ins] = await viaUnix.transact(NB_DB, [{ op: "insert", table: "Logical_Switch", row: { name: "c-sw1", other_config: map({ subnet: "10.9.0.0/24" }) } }]);
      expect(ins).toMatchObject({ uuid: ["uuid", expect.any(String)] });
      const rows = await viaTcp.select(NB_DB, "Logical_Switch", ["name", "other_config"], [["name", "==", "c-sw1"]]);
      expect(rows).toEqual([{ _uuid: ins!.uuid, name: "c-sw1", other_config: ["map", [["subnet", "10.9.0.0/24"]]] }]);
      expect((await h.nbctl("ls-list")).trim()).toMatch(/\(c-sw1\)$/);
      await viaTcp.echo();
    } finally {
      viaUnix.close();
      viaTcp.close();
      await h.nbctl("--if-exists", "ls-del", "c-sw1");
    }
  });

  it("select always carries _uuid, so two rows that look alike stay two rows", async () => {
    const c = new OvsdbClient({ remote: h.nbRemote });
    try {
      // Logical_Switch has no unique index on name: the database holds both.
      await c.transact(NB_DB, [{ op: "insert", table: "Logical_Switch", row: { name: "twin" } }, { op: "insert", table: "Logical_Switch", row: { name: "twin" } }]);
      const rows = await c.select(NB_DB, "Logical_Switch", ["name"], [["name", "==", "twin"]]);
      expect(rows).toHaveLength(2);
      expect(new Set(rows.map((r) => JSON.stringify(r._uuid))).size).toBe(2);
      await c.transact(NB_DB, [{ op: "delete", table: "Logical_Switch", where: [["name", "==", "twin"]] }]);
    } finally { c.close(); }
  });

  it("an aborted transaction commits nothing and says which operation failed and why", async () => {
    const c = new OvsdbClient({ remote: h.nbRemote });
    try {
      const insert = { op: "insert", table: "Logical_Switch", row: { name: "c-never" } };
      // A failed wait ("timed out") aborts the insert before it.
      const err1 = await c.transact(NB_DB, [insert, { op: "wait", timeout: 0, table: "Logical_Switch", where: [["name", "==", "c-never"]], columns: ["name"], until: "==", rows: [] }]).catch((e: unknown) => e);
      expect(err1).toBeInstanceOf(OvsdbTransactionError);
      expect(err1).toMatchObject({ error: "timed out", opIndex: 1 });
      // A reference to a row that does not exist fails at commit (opIndex -1).
      const err2 = await c.transact(NB_DB, [{ ...insert, row: { name: "c-never", ports: set([uuid("8a1f3a3e-0000-4000-8000-000000000001")]) } }]).catch((e: unknown) => e);
      expect(err2).toMatchObject({ name: "OvsdbTransactionError", error: "referential integrity violation", opIndex: -1 });
      // Two switch ports with one name break the unique index.
      const err3 = await c.transact(NB_DB, [
        { op: "insert", table: "Logical_Switch_Port", "uuid-name": "p1", row: { name: "dup" } },
        { op: "insert", table: "Logical_Switch_Port", "uuid-name": "p2", row: { name: "dup" } },
        { op: "insert", table: "Logical_Switch", row: { name: "c-never", ports: set([["named-uuid", "p1"], ["named-uuid", "p2"]]) } },
      ]).catch((e: unknown) => e);
      expect(err3).toMatchObject({ error: "constraint violation" });
      expect((err3 as Error).message).toMatch(/constraint violation/);
      expect(await switchNames(c)).not.toContain("c-never");
      expect(await c.select(NB_DB, "Logical_Switch_Port", ["name"])).toEqual([]);
    } finally { c.close(); }
  });

  it("a JSON-RPC level error (unknown database) is an OvsdbRpcError", async () => {
    const c = new OvsdbClient({ remote: h.nbRemote });
    try {
      const err = await c.transact("No_Such_DB", [{ op: "select", table: "x", where: [] }]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OvsdbRpcError);
      expect((err as Error).message).toMatch(/unknown database/);
    } finally { c.close(); }
  });

  it("a missing socket or a closed port fails fast with the system's reason", async () => {
    const noSock = await new OvsdbClient({ remote: `unix:${h.dir}/nope.sock` }).echo().catch((e: unknown) => e);
    expect(noSock).toBeInstanceOf(OvsdbConnectionError);
    expect(noSock).toMatchObject({ code: "ENOENT" });
    const srv = net.createServer();
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
    const closedPort = (srv.address() as net.AddressInfo).port;
    await new Promise<void>((r) => srv.close(() => r()));
    const refused = await new OvsdbClient({ remote: `tcp:127.0.0.1:${closedPort}` }).echo().catch((e: unknown) => e);
    expect(refused).toMatchObject({ name: "OvsdbConnectionError", code: "ECONNREFUSED" });
  });

  it("reconnects on the next call after the connection is dropped", async () => {
    const r = await relay({ host: "127.0.0.1", port });
    const c = new OvsdbClient({ remote: r.remote });
    try {
      await c.echo();
      r.cutAll();
      await expect.poll(() => c.connected).toBe(false);
      expect(await c.listDbs()).toContain(NB_DB);
      expect(r.state.connections).toBe(2);
    } finally { c.close(); await r.close(); }
  });

  it("retries a read once when a reused connection turns out dead, but never a write", async () => {
    const r = await relay({ host: "127.0.0.1", port });
    const c = new OvsdbClient({ remote: r.remote });
    try {
      await c.echo();
      r.state.mode = "cut-on-request"; // the next request is lost with its connection
      expect(await switchNames(c)).toEqual([]);
      expect(r.state.connections).toBe(2);
      r.state.mode = "cut-on-request";
      const err = await c.transact(NB_DB, [{ op: "insert", table: "Logical_Switch", row: { name: "c-lost" } }]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OvsdbConnectionError);
      expect(await switchNames(c)).toEqual([]); // the write never reached the server, and was not resent
    } finally { c.close(); await r.close(); }
  });

  it("gives up on a server that stops answering, then works again on a new connection", async () => {
    const r = await relay({ host: "127.0.0.1", port });
    const c = new OvsdbClient({ remote: r.remote, requestTimeoutMs: 300 });
    try {
      await c.echo();
      r.state.mode = "swallow";
      const t0 = Date.now();
      const err = await c.listDbs().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OvsdbTimeoutError);
      expect(Date.now() - t0).toBeLessThan(2_000);
      expect(c.connected).toBe(false);
      r.state.mode = "pass";
      expect(await c.listDbs()).toContain(NB_DB);
      expect(r.state.connections).toBe(2);
    } finally { c.close(); await r.close(); }
  });

  it("an aborted request rejects at once with an AbortError", async () => {
    const c = new OvsdbClient({ remote: h.nbRemote });
    try {
      const ac = new AbortController();
      ac.abort();
      await expect(c.listDbs({ signal: ac.signal })).rejects.toMatchObject({ name: "AbortError" });
    } finally { c.close(); }
  });

  it("answers the server's echo probe on an idle TCP connection (ovsdb-server probes every 5 s)", async () => {
    const r = await relay({ host: "127.0.0.1", port });
    const c = new OvsdbClient({ remote: r.remote });
    try {
      await c.echo();
      await expect.poll(() => r.state.fromServer, { timeout: 8_000, interval: 100 }).toContain('"method":"echo"');
      await expect.poll(() => r.state.fromClient, { timeout: 2_000 }).toContain('{"id":"echo","result":[],"error":null}');
      expect(await c.listDbs()).toContain(NB_DB);
      expect(r.state.connections).toBe(1);
    } finally { c.close(); await r.close(); }
  }, 20_000);
});
