/**
 * Ceph health as the agent reports it: a compact form of `ceph health detail --format json`, the
 * telemetry numbers derived from it, and the pure decision of when a change is worth a `ceph-health`
 * event. Pure: no I/O.
 */
export type HealthStatus = "HEALTH_OK" | "HEALTH_WARN" | "HEALTH_ERR";

export interface HealthCheck {
  /** Ceph's check code, e.g. OSDMAP_FLAGS, PG_DEGRADED. */
  code: string;
  severity: HealthStatus;
  /** Ceph's one-line summary, e.g. "noout flag(s) set". */
  summary: string;
}

export interface CephHealth {
  status: HealthStatus;
  /** Unmuted checks, sorted by code. */
  checks: HealthCheck[];
}

/** What healthEvents decides to emit: a ready `ceph-health` event for the reporter's Events.emit. */
export interface CephHealthEvent {
  type: "ceph-health";
  severity: "info" | "warning" | "error";
  message: string;
  code: HealthStatus;
  details: {
    status: HealthStatus;
    previous: HealthStatus | null;
    checks: HealthCheck[];
    added: string[];
    cleared: string[];
  };
}

const STATUSES: readonly HealthStatus[] = ["HEALTH_OK", "HEALTH_WARN", "HEALTH_ERR"];

function asStatus(v: unknown): HealthStatus {
  // An unknown status word from a future Ceph is treated as the worst, never as OK.
  return STATUSES.includes(v as HealthStatus) ? (v as HealthStatus) : "HEALTH_ERR";
}

/**
 * Parses `ceph health detail --format json`:
 * `{"status":"HEALTH_WARN","checks":{"OSDMAP_FLAGS":{"severity":"HEALTH_WARN","summary":{"message":"noout flag(s) set"},"muted":false}}}`.
 * Muted checks are left out: an operator muted them precisely so that nobody gets told again
 * (Ceph leaves them out of the overall status too).
 */
export function parseHealth(json: unknown): CephHealth {
  const o = (json ?? {}) as { status?: unknown; checks?: Record<string, { severity?: unknown; summary?: { message?: unknown }; muted?: unknown }> };
  if (typeof o.status !== "string") throw new Error(`unexpected 'ceph health detail' output: ${JSON.stringify(json)?.slice(0, 200)}`);
  const checks = Object.entries(o.checks ?? {})
    .filter(([, c]) => c?.muted !== true)
    .map(([code, c]) => ({ code, severity: asStatus(c?.severity), summary: typeof c?.summary?.message === "string" ? c.summary.message : "" }))
    .sort((a, b) => (a.code < b.code ? -1 : a.code > b.code ? 1 : 0));
  return { status: asStatus(o.status), checks };
}

/** Telemetry: `ceph.health` is 0 (OK), 1 (WARN) or 2 (ERR); `ceph.health.checks` counts the active checks. */
export function healthMetrics(h: CephHealth): Record<string, number> {
  return { "ceph.health": STATUSES.indexOf(h.status), "ceph.health.checks": h.checks.length };
}

/** A check is "the same" while its code and severity are: a WARN check turning ERR is news. */
const checkKey = (c: HealthCheck) => `${c.code}:${c.severity}`;

const MAX_MESSAGE = 1000;

/**
 * The `ceph-health` events to emit when health went from `previous` to `current` (zero or one).
 * - An event when the status (OK/WARN/ERR) changes or the set of checks does (a check appears,
 *   clears, or changes severity); the new state, what was added and what cleared are in details.
 * - No event when only a summary's wording changes ("5/10 objects degraded" -> "4/10"): that
 *   would be an event every few seconds during recovery. Telemetry carries the live numbers.
 * - `previous` undefined (the agent just started): an event only if the cluster is not healthy,
 *   so a restart does not announce "HEALTH_OK" again but a sick cluster is reported at once.
 * - Back to HEALTH_OK is an `info` recovery event naming what cleared.
 */
export function healthEvents(previous: CephHealth | undefined, current: CephHealth): CephHealthEvent[] {
  const before = new Set((previous?.checks ?? []).map(checkKey));
  const now = new Set(current.checks.map(checkKey));
  const codesBefore = new Set((previous?.checks ?? []).map((c) => c.code));
  const codesNow = new Set(current.checks.map((c) => c.code));
  if (previous === undefined && current.status === "HEALTH_OK" && current.checks.length === 0) return [];
  if (previous !== undefined && previous.status === current.status && before.size === now.size && [...now].every((k) => before.has(k))) return [];

  const added = [...codesNow].filter((c) => !codesBefore.has(c));
  const cleared = [...codesBefore].filter((c) => !codesNow.has(c));
  let message: string;
  if (current.status === "HEALTH_OK") {
    message = `ceph health is back to HEALTH_OK${cleared.length ? ` (cleared: ${cleared.join(", ")})` : ""}`;
  } else {
    const list = current.checks.map((c) => `${c.code}: ${c.summary}`).join("; ");
    message = `ceph health ${current.status}${list ? `: ${list}` : ""}`;
  }
  if (message.length > MAX_MESSAGE) message = `${message.slice(0, MAX_MESSAGE - 1)}…`;
  return [{
    type: "ceph-health",
    severity: current.status === "HEALTH_OK" ? "info" : current.status === "HEALTH_WARN" ? "warning" : "error",
    message,
    code: current.status,
    details: { status: current.status, previous: previous?.status ?? null, checks: current.checks, added, cleared },
  }];
}
