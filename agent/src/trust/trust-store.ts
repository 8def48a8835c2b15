import type { Db, InStatement } from "../store/sqlite.ts";
import { z } from "zod";
import { KeysDocument, RootDocument, SiteName, type TrustState } from "@outpost/shared";
import { KV, kvGet, kvSet } from "../store/kv.ts";

/**
 * The trust state (pinned root, trusted keys document, highest accepted bundle version) lives in
 * kv as JSON and is re-validated on every load: a hand-edited or damaged state file is refused,
 * not trusted.
 */
const StoredTrust = z.object({
  site: SiteName,
  root: RootDocument,
  keys: KeysDocument.nullable(),
  bundleVersion: z.number().int().min(0),
});

export async function loadTrust(db: Pick<Db, "execute">): Promise<TrustState | null> {
  const raw = await kvGet(db, KV.trust);
  if (raw === undefined) return null;
  const r = StoredTrust.safeParse(raw);
  if (!r.success) throw new Error(`the trust state in the state file is damaged (${r.error.issues[0]?.message}); re-enroll this site`);
  return r.data;
}

export function saveTrust(state: TrustState): InStatement {
  return kvSet(KV.trust, state);
}

/** A short, loggable description of what is trusted (versions only, never key material). */
export function describeTrust(s: TrustState): { rootVersion: number; keysVersion: number | null; bundleVersion: number } {
  return { rootVersion: s.root.version, keysVersion: s.keys?.version ?? null, bundleVersion: s.bundleVersion };
}
