import { z } from "zod";
import { HubError } from "@outpost/shared";
import type { UiApi } from "./api.ts";

/** What the audit page shows; `source` lets the page say plainly when it is not the full audit log. */
export interface AuditEntry { at: string; actor: string; action: string; target: string; detail: string }
export interface AuditLog { source: "audit" | "rollout-history"; entries: AuditEntry[] }

const AUDIT_PATH = "/api/v1/audit";
const LIMIT = 200;
/** Only the fields shown: the page keeps working if the audit API grows. */
const AuditRow = z.object({ at: z.string(), actor: z.string(), method: z.string(), route: z.string(), target: z.string().nullable().optional(), status: z.number() });

/**
 * The hub's audit log (GET /api/v1/audit: every mutating API call, the dashboard's included, as
 * the API records them), read as the signed-in operator. On a hub without that route, the
 * operator actions every rollout records in its history stand in, clearly labelled.
 */
export async function loadAuditLog(api: UiApi): Promise<AuditLog> {
  try {
    const { entries } = await api.call("GET", `${AUDIT_PATH}?limit=${LIMIT}`, z.object({ entries: z.array(AuditRow) }));
    return {
      source: "audit",
      entries: entries.map((e) => ({ at: e.at, actor: e.actor, action: `${e.method} ${e.route}`, target: e.target ?? "", detail: String(e.status) })),
    };
  } catch (e) {
    if (!(e instanceof HubError && e.status === 404)) throw e;
  }
  return { source: "rollout-history", entries: await rolloutHistory(api) };
}

const ROLLOUT_LIMIT = 50;

async function rolloutHistory(api: UiApi): Promise<AuditEntry[]> {
  const entries: AuditEntry[] = [];
  for (const r of (await api.listRollouts()).slice(-ROLLOUT_LIMIT)) {
    for (const e of await api.rolloutEvents(r.id)) {
      if (e.actor !== "operator") continue;
      entries.push({ at: e.at, actor: e.actor, action: `rollout ${e.type}`, target: `rollout ${r.id} (${r.release.name}@${r.release.version})`, detail: e.wave === null ? "" : `wave ${e.wave + 1}` });
    }
  }
  return entries.sort((a, b) => b.at.localeCompare(a.at)).slice(0, LIMIT);
}
