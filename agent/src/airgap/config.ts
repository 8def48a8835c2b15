import { existsSync } from "node:fs";
import path from "node:path";
import { z } from "zod";
import { loadConfig, type AgentConfig, type AgentConfigInput } from "../config.ts";
import { openStore, STATE_FILE } from "../store/db.ts";
import { KV, kvGet } from "../store/kv.ts";
import { loadTrust } from "../trust/trust-store.ts";

/** What `agent start` recorded about itself: the defaults an offline command starts from. */
const Recorded = z.object({ site: z.string(), hubUrl: z.string(), driver: z.enum(["sim", "real"]) }).partial();

/**
 * The agent configuration for a command run next to (or instead of) the agent on a site: the same
 * file < env < flags layers as `outpost agent start`, with site, hub URL and driver defaulting to
 * what the state directory records (the site it is enrolled as, and how the agent last ran), so a
 * technician needs only --state-dir. Those defaults sit at the env layer: they agree with the
 * agent's own file by construction, and the site must match the state directory anyway. The hub
 * URL is never dialled by these commands; the schema just requires one.
 */
export async function siteConfig(o: { stateDir: string; file?: string; env: Record<string, string | undefined>; overrides?: Partial<AgentConfigInput> }): Promise<AgentConfig> {
  const env = { ...o.env };
  if (existsSync(path.join(o.stateDir, STATE_FILE))) {
    const store = await openStore(o.stateDir, { create: false });
    try {
      const rec = Recorded.safeParse(await kvGet(store.db, KV.agent));
      const trust = await loadTrust(store.db);
      const site = trust?.site ?? (rec.success ? rec.data.site : undefined);
      if (site) env.OUTPOST_SITE ||= site;
      if (rec.success && rec.data.hubUrl) env.OUTPOST_HUB_URL ||= rec.data.hubUrl;
      if (rec.success && rec.data.driver) env.OUTPOST_DRIVER ||= rec.data.driver;
    } finally { store.close(); }
  }
  env.OUTPOST_HUB_URL ||= "http://hub.invalid";
  return loadConfig({ file: o.file, env, overrides: { ...o.overrides, stateDir: o.stateDir } });
}
