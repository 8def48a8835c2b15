import { eq } from "drizzle-orm";
import { AgentAuthError, claimedSite, importPublic, verifyAgentJwt } from "@outpost/shared";
import { jtiStore } from "../auth/jti-store.ts";
import type { HubDb } from "../db/client.ts";
import { sites, type SiteRow } from "../db/schema.ts";

/**
 * The embedded broker's CONNECT check: username = the site, password = a fresh JWT the agent signed
 * with its own key. The same checks as an HTTPS request (shared verifyAgentJwt against the approved
 * key, the same jti replay store, so a password sniffed once cannot be replayed on either transport),
 * and only an approved site gets in. Throws AgentAuthError; never logs the token.
 */
export async function verifySiteLogin(hub: HubDb, username: string, password: string, now: Date): Promise<SiteRow> {
  const name = claimedSite(password);
  if (name !== username) throw new AgentAuthError("AUTH_INVALID", "the MQTT username must be the site that signed the password token");
  const [site] = await hub.db.select().from(sites).where(eq(sites.name, name)).limit(1);
  if (!site) throw new AgentAuthError("AUTH_UNKNOWN_SITE", "no such site");
  await verifyAgentJwt(password, site.name, await importPublic(site.publicKey), jtiStore(hub, site.name), now);
  if (site.status === "pending") throw new AgentAuthError("AUTH_SITE_PENDING", `site '${site.name}' is waiting for approval`);
  if (site.status === "revoked") throw new AgentAuthError("AUTH_SITE_REVOKED", `site '${site.name}' has been revoked`);
  return site;
}

/** Names of the sites that may hold a broker connection now (approved). */
export async function approvedSiteNames(hub: HubDb): Promise<Set<string>> {
  const rows = await hub.db.select({ name: sites.name }).from(sites).where(eq(sites.status, "approved"));
  return new Set(rows.map((r) => r.name));
}
