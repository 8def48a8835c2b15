/**
 * The agent's state file. One statement per table group; everything is `IF NOT EXISTS` so opening
 * is idempotent and an older file simply gains what it lacks. The simulation driver keeps its own
 * `sim_*` tables (drivers/sim/tables.ts) in the same file.
 */
export const CORE_SCHEMA = [
  // Small documents: trust state, enrollment, reconcile bookkeeping, agent identity (site, hub).
  `CREATE TABLE IF NOT EXISTS kv (
     key TEXT PRIMARY KEY,
     value TEXT NOT NULL,
     updated_at TEXT NOT NULL
   )`,
  // Accepted bundles only (a refused one is never stored); the highest version is the last good one.
  `CREATE TABLE IF NOT EXISTS bundles (
     version INTEGER PRIMARY KEY,
     jws TEXT NOT NULL,
     payload TEXT NOT NULL,
     received_at TEXT NOT NULL
   )`,
  // What the agent last applied to each driver object, for reporting (not for planning: plans
  // always diff the spec against what drivers observe, so drift is never hidden by bookkeeping).
  `CREATE TABLE IF NOT EXISTS applied (
     driver TEXT NOT NULL,
     kind TEXT NOT NULL,
     name TEXT NOT NULL,
     spec_hash TEXT NOT NULL,
     action TEXT NOT NULL,
     bundle_version INTEGER NOT NULL,
     applied_at TEXT NOT NULL,
     PRIMARY KEY (driver, kind, name)
   )`,
  // Reports waiting for the hub's ack; ids are monotonic ULIDs so id order is creation order.
  `CREATE TABLE IF NOT EXISTS outbox (
     id TEXT PRIMARY KEY,
     kind TEXT NOT NULL CHECK (kind IN ('status', 'telemetry', 'event')),
     body TEXT NOT NULL,
     at TEXT NOT NULL
   )`,
  `CREATE INDEX IF NOT EXISTS outbox_by_kind ON outbox (kind, id)`,
  // Append-only local history of every transition.
  `CREATE TABLE IF NOT EXISTS journal (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     at TEXT NOT NULL,
     type TEXT NOT NULL,
     detail TEXT NOT NULL
   )`,
  `CREATE INDEX IF NOT EXISTS journal_by_type ON journal (type, seq)`,
];
