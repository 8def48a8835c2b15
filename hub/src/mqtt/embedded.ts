import { randomBytes, timingSafeEqual } from "node:crypto";
import { createServer as createHttpServer, type Server as HttpServer } from "node:http";
import { createServer as createNetServer, type AddressInfo, type Server as NetServer } from "node:net";
import { Aedes, type AuthenticateError, type Client } from "aedes";
import type { Logger } from "pino";
import { createWebSocketStream, WebSocketServer } from "ws";
import { AgentAuthError } from "@outpost/shared";
import type { HubDb } from "../db/client.ts";
import { HUB_CLIENT_PREFIX, HUB_INTERNAL_USER, mayPublish, maySubscribe, type BrokerIdentity } from "./acl.ts";
import { approvedSiteNames, verifySiteLogin } from "./site-auth.ts";
import { LISTEN_BACKLOG } from "../listen.ts";

export interface EmbeddedBrokerOptions {
  hub: HubDb;
  logger: Logger;
  host: string;
  /** TCP listener; 0 = ephemeral. */
  port: number;
  /** MQTT over WebSocket listener; 0 = ephemeral, null = none. */
  wsPort: number | null;
  now: () => Date;
}

export interface EmbeddedBroker {
  port: number;
  wsPort: number | null;
  /** The hub's own credentials for this broker (in-process only: a random secret per start). */
  internal: { username: string; password: string };
  /** Connected site clients. */
  siteClients(): number;
  /** Disconnects connected sites that are no longer approved (revoked or removed). */
  sweep(): Promise<number>;
  /** Closes the session of one site now (it was removed); its next login is refused by the CONNECT check. */
  disconnect(site: string): Promise<number>;
  close(): Promise<void>;
}

const NOT_AUTHORIZED = 5; // CONNACK return codes (MQTT 3.1.1): 4 = bad username or password, 5 = not authorized
const BAD_CREDENTIALS = 4;

function authError(returnCode: number, message: string): AuthenticateError {
  return Object.assign(new Error(message), { returnCode }) as AuthenticateError;
}

/**
 * aedes in the hub process (the default, DESIGN §7), on TCP and on WebSocket. Every hook decides from
 * the identity fixed at CONNECT, never from what a packet claims:
 * - CONNECT: the hub's internal identity (a random secret made at start), or a site with a fresh JWT
 *   verified like an HTTPS request; and a site's client id must be its own name, so no one can take over
 *   (and disconnect) another site's persistent session.
 * - SUBSCRIBE / PUBLISH: acl.ts. A refused subscription is answered 0x80; a refused publish is dropped
 *   and the connection closed (aedes' behaviour for an authorizePublish error).
 */
export async function startEmbeddedBroker(o: EmbeddedBrokerOptions): Promise<EmbeddedBroker> {
  const identities = new WeakMap<Client, BrokerIdentity>();
  const secret = randomBytes(32).toString("base64url");
  const secretBuf = Buffer.from(secret);
  const log = o.logger.child({ component: "mqtt-broker" });

  const broker = await Aedes.createBroker({
    authenticate: (client, username, password, done) => {
      const pw = password ?? Buffer.alloc(0);
      if (username === HUB_INTERNAL_USER) {
        const ok = pw.length === secretBuf.length && timingSafeEqual(pw, secretBuf) && client.id.startsWith(HUB_CLIENT_PREFIX);
        if (ok) identities.set(client, { kind: "hub" });
        return ok ? done(null, true) : done(authError(BAD_CREDENTIALS, "bad hub credentials"), false);
      }
      if (!username || client.id !== username) {
        return done(authError(NOT_AUTHORIZED, "the client id must be the site name"), false);
      }
      verifySiteLogin(o.hub, username, pw.toString("utf8"), o.now()).then(
        (site) => { identities.set(client, { kind: "site", site: site.name }); done(null, true); },
        (e: unknown) => {
          // The reason goes to the log (without the token); the client only learns it was refused.
          log.info({ site: username.slice(0, 64), code: e instanceof AgentAuthError ? e.code : "ERROR" }, "mqtt login refused");
          if (!(e instanceof AgentAuthError)) log.warn({ err: (e as Error).message }, "mqtt login check failed");
          done(authError(e instanceof AgentAuthError && (e.code === "AUTH_SITE_PENDING" || e.code === "AUTH_SITE_REVOKED") ? NOT_AUTHORIZED : BAD_CREDENTIALS, "refused"), false);
        },
      );
    },
    authorizeSubscribe: (client, sub, done) => {
      const who = identities.get(client);
      if (who && maySubscribe(who, sub.topic)) return done(null, sub);
      log.info({ client: client.id.slice(0, 64), topic: sub.topic.slice(0, 200) }, "mqtt subscription refused");
      done(null, null); // negated: SUBACK 0x80 for this filter
    },
    authorizePublish: (client, packet, done) => {
      const who = client ? identities.get(client) : undefined;
      if (who && mayPublish(who, packet.topic, packet.retain)) return done(null);
      log.info({ client: client?.id.slice(0, 64), topic: packet.topic.slice(0, 200) }, "mqtt publish refused");
      done(new Error("not authorized"));
    },
  });
  broker.on("clientError", (client, err) => log.debug({ client: client.id.slice(0, 64), err: err.message }, "mqtt client error"));

  const tcp = createNetServer(broker.handle);
  await listen(tcp, o.port, o.host);
  let http: HttpServer | null = null;
  let wss: WebSocketServer | null = null;
  if (o.wsPort !== null) {
    http = createHttpServer((_req, res) => { res.writeHead(426).end("MQTT over WebSocket only\n"); });
    wss = new WebSocketServer({ server: http });
    wss.on("connection", (ws, req) => { broker.handle(createWebSocketStream(ws), req); });
    await listen(http, o.wsPort, o.host);
  }

  const clients = () => Object.values((broker as unknown as { clients: Record<string, Client> }).clients ?? {});
  const close = (keep: (site: string) => boolean): number => {
    let n = 0;
    for (const c of clients()) {
      const who = identities.get(c);
      if (who?.kind === "site" && !keep(who.site)) { c.close(); n++; }
    }
    return n;
  };
  return {
    port: (tcp.address() as AddressInfo).port,
    wsPort: http ? (http.address() as AddressInfo).port : null,
    internal: { username: HUB_INTERNAL_USER, password: secret },
    siteClients: () => clients().filter((c) => identities.get(c)?.kind === "site").length,
    sweep: async () => {
      const approved = await approvedSiteNames(o.hub);
      const n = close((site) => approved.has(site));
      if (n) log.info({ disconnected: n }, "disconnected sites that are no longer approved");
      return n;
    },
    disconnect: async (site) => {
      const n = close((s) => s !== site);
      if (n) log.info({ site }, "disconnected a revoked site");
      return n;
    },
    close: async () => {
      for (const c of wss?.clients ?? []) c.terminate();
      await new Promise<void>((r) => broker.close(() => r()));
      await Promise.all([closeServer(tcp), http ? closeServer(http) : Promise.resolve()]);
    },
  };
}

function listen(server: NetServer | HttpServer, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ port, host, backlog: LISTEN_BACKLOG }, () => { server.off("error", reject); resolve(); });
  });
}

function closeServer(server: NetServer | HttpServer): Promise<void> {
  if ("closeAllConnections" in server) server.closeAllConnections();
  return new Promise((r) => server.close(() => r()));
}
