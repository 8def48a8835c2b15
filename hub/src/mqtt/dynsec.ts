import { randomBytes } from "node:crypto";
import type { MqttClient } from "mqtt";
import { MqttTopics } from "@outpost/shared";

/**
 * Mosquitto's dynamic-security plugin, driven over `$CONTROL/dynamic-security/v1` by the hub's admin
 * client. Mosquitto cannot verify an agent's JWT, so with an external broker each approved site gets
 * a broker client of its own: username = client id = the site, a random password the hub hands to the
 * agent over the JWT-authenticated HTTPS API (GET /agent/v1/mqtt, rotated on each call), and a role
 * carrying exactly acl.ts's rules. Mosquitto stores only a salted hash of that password.
 */
const CONTROL = "$CONTROL/dynamic-security/v1";
const RESPONSE = `${CONTROL}/response`;
const TIMEOUT_MS = 10_000;
export const HUB_ROLE = "outpost-hub";
export const siteRole = (site: string) => `outpost-site-${site}`;

/** The broker-side twin of acl.ts for one site (dynsec denies subscribing and sending by default). */
export function siteAcls(site: string) {
  return [
    { acltype: "subscribeLiteral", topic: MqttTopics.bundle(site), allow: true },
    { acltype: "subscribeLiteral", topic: MqttTopics.acks(site), allow: true },
    { acltype: "publishClientSend", topic: MqttTopics.reports(site), allow: true },
  ];
}

interface Response { command: string; error?: string; data?: unknown; correlationData?: string }

export class Dynsec {
  #seq = 0;
  readonly #waiting = new Map<string, (r: Response) => void>();
  #subscribed: Promise<unknown> | null = null;

  constructor(private readonly client: MqttClient) {
    client.on("message", (topic, payload) => {
      if (topic !== RESPONSE) return;
      let body: { responses?: Response[] };
      try { body = JSON.parse(payload.toString("utf8")) as { responses?: Response[] }; } catch { return; }
      for (const r of body.responses ?? []) {
        const done = r.correlationData ? this.#waiting.get(r.correlationData) : undefined;
        if (done) { this.#waiting.delete(r.correlationData!); done(r); }
      }
    });
    // The hub's session is clean: subscribe to the answers on every connect, and fail what was in
    // flight when the connection goes (Mosquitto also disconnects a client whose roles change).
    const subscribe = () => { this.#subscribed = client.subscribeAsync(RESPONSE, { qos: 1 }); this.#subscribed.catch(() => {}); };
    client.on("connect", subscribe);
    if (client.connected) subscribe();
    client.on("close", () => {
      this.#subscribed = null;
      for (const done of this.#waiting.values()) done({ command: "", error: "connection to the broker closed" });
      this.#waiting.clear();
    });
  }

  /** Runs one command; resolves with its response (which may carry `error`). */
  async command(command: string, args: Record<string, unknown> = {}): Promise<Response> {
    if (!this.#subscribed) throw new Error(`dynsec ${command}: not connected to the broker`);
    await this.#subscribed;
    const correlationData = `outpost-${process.pid}-${++this.#seq}`;
    const answer = new Promise<Response>((resolve, reject) => {
      const timer = setTimeout(() => { this.#waiting.delete(correlationData); reject(new Error(`dynsec ${command}: no answer from the broker within ${TIMEOUT_MS} ms`)); }, TIMEOUT_MS);
      this.#waiting.set(correlationData, (r) => { clearTimeout(timer); resolve(r); });
    });
    await this.client.publishAsync(CONTROL, JSON.stringify({ commands: [{ command, ...args, correlationData }] }), { qos: 1 });
    return answer;
  }

  private async must(command: string, args: Record<string, unknown>, tolerate: RegExp | null = null): Promise<Response> {
    const r = await this.command(command, args);
    if (r.error && !(tolerate && tolerate.test(r.error))) throw new Error(`dynsec ${command}: ${r.error}`);
    return r;
  }

  /** Lets the hub's own admin client publish bundles and acks and read reports (the init role cannot send). */
  async ensureHubRole(adminUser: string): Promise<void> {
    await this.must("createRole", {
      rolename: HUB_ROLE,
      acls: [
        { acltype: "publishClientSend", topic: "outpost/v1/#", allow: true },
        { acltype: "subscribePattern", topic: "outpost/v1/#", allow: true },
      ],
    }, /already exists/i);
    const me = await this.must("getClient", { username: adminUser });
    const roles = (me.data as { client?: { roles?: { rolename: string }[] } } | undefined)?.client?.roles ?? [];
    if (roles.some((r) => r.rolename === HUB_ROLE)) return;
    // Mosquitto disconnects a client whose roles change, this one included: the command lands, the
    // connection drops, and the next connect finds the role in place. Once per broker, ever.
    await this.command("addClientRole", { username: adminUser, rolename: HUB_ROLE }).catch(() => {});
    throw new Error("gave the hub's broker account the outpost-hub role; reconnecting to use it");
  }

  /**
   * Creates (or re-keys) the site's broker client and role; returns the new password. A new password
   * each time: the agent asks only when it has none or the broker refused the one it had.
   */
  async provisionSite(site: string): Promise<string> {
    const password = randomBytes(24).toString("base64url");
    const rolename = siteRole(site);
    await this.must("createRole", { rolename, acls: siteAcls(site) }, /already exists/i);
    const created = await this.command("createClient", { username: site, password, clientid: site, roles: [{ rolename }] });
    if (created.error) {
      if (!/already exists/i.test(created.error)) throw new Error(`dynsec createClient: ${created.error}`);
      await this.must("setClientPassword", { username: site, password });
      // Mosquitto 2.0.11 answers addClientRole for a role the client already holds with "Internal
      // error": look first, or every provisioning after the first (an agent whose answer was lost,
      // or that asks again after a failed connection) would fail for good.
      const me = await this.must("getClient", { username: site });
      const roles = (me.data as { client?: { roles?: { rolename: string }[] } } | undefined)?.client?.roles ?? [];
      if (!roles.some((r) => r.rolename === rolename)) await this.must("addClientRole", { username: site, rolename }, /already|has role/i);
      await this.must("enableClient", { username: site });
    }
    return password;
  }

  /** Deletes the site's client (Mosquitto disconnects it) and its role. Missing ones are fine. */
  async removeSite(site: string): Promise<void> {
    await this.must("deleteClient", { username: site }, /not found/i);
    await this.must("deleteRole", { rolename: siteRole(site) }, /not found/i);
  }

  /** Usernames of the site clients the hub provisioned (those holding an outpost-site-<name> role). */
  async siteClients(): Promise<string[]> {
    const r = await this.must("listClients", { verbose: true, count: -1 });
    const clients = (r.data as { clients?: { username: string; roles?: { rolename: string }[] }[] } | undefined)?.clients ?? [];
    return clients.filter((c) => c.roles?.some((x) => x.rolename === siteRole(c.username))).map((c) => c.username);
  }
}
