import { and, desc, eq, isNull, lt, or, type SQL } from "drizzle-orm";
import type { Context } from "hono";
import type { AuditEntry } from "@outpost/shared";
import type { HubDeps } from "../api/deps.ts";
import type { Queryable } from "../db/client.ts";
import { auditLog } from "../db/schema.ts";
import { clientAddress, TrustedProxies } from "./forwarded.ts";

export type AuditRecord = typeof auditLog.$inferInsert;

/**
 * One audit row. A failure to write it is logged loudly but does not turn the caller's (already
 * done) change into an error: the change happened, and saying otherwise would be worse.
 */
export async function recordAudit(deps: Pick<HubDeps, "hub" | "logger">, entry: AuditRecord): Promise<void> {
  try {
    await deps.hub.write((db) => db.insert(auditLog).values(entry));
  } catch (err) {
    deps.logger.error({ err: (err as Error).message, route: entry.route, reqId: entry.requestId }, "audit entry not written");
  }
}

/** `name=value` pairs of the path parameters: what was acted on, without anything from the body. */
export function targetOf(params: Record<string, string>): string {
  return Object.entries(params).map(([k, v]) => `${k}=${v}`).join(",");
}

/** The TCP peer of the request (@hono/node-server's binding); null for an in-process call without one. */
export function peerAddress(c: Context): string | null {
  const env = c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined;
  return env?.incoming?.socket?.remoteAddress ?? null;
}

/**
 * Where the call came from: the peer, or behind trusted proxies (OUTPOST_TRUSTED_PROXIES) the
 * client X-Forwarded-For names (forwarded.ts). From any other peer the header is ignored.
 */
export function sourceIp(c: Context, trusted: TrustedProxies = TrustedProxies.NONE): string | null {
  return clientAddress(peerAddress(c), c.req.header("x-forwarded-for"), trusted);
}

export const isMutating = (method: string): boolean => method !== "GET" && method !== "HEAD" && method !== "OPTIONS";

export interface AuditFilter { projectId: string; includeHubWide: boolean; actor?: string; before?: number; limit: number }

/** Newest first. A project's admins see its entries; hub admins also see hub-wide ones (projects, API tokens). */
export async function queryAudit(q: Queryable, f: AuditFilter): Promise<AuditEntry[]> {
  const where: SQL[] = [f.includeHubWide ? or(eq(auditLog.projectId, f.projectId), isNull(auditLog.projectId))! : eq(auditLog.projectId, f.projectId)];
  if (f.actor) where.push(eq(auditLog.actor, f.actor));
  if (f.before) where.push(lt(auditLog.id, f.before));
  const rows = await q.select().from(auditLog).where(and(...where)).orderBy(desc(auditLog.id)).limit(f.limit);
  return rows.map((r) => ({
    id: r.id, at: r.at.toISOString(), actor: r.actor, project: r.projectId ?? null, method: r.method, route: r.route,
    target: r.target, sourceIp: r.sourceIp ?? null, status: r.status, requestId: r.requestId,
  }));
}
