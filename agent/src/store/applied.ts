import type { Db, InStatement } from "./sqlite.ts";

/** Per driver object, the spec hash last applied and by which bundle: what reports say is in place. */
export function appliedRecord(o: { driver: string; kind: string; name: string; action: string; specHash: string; bundleVersion: number }, now = new Date()): InStatement {
  if (o.action === "delete") {
    return { sql: "DELETE FROM applied WHERE driver = ? AND kind = ? AND name = ?", args: [o.driver, o.kind, o.name] };
  }
  return {
    sql: `INSERT INTO applied (driver, kind, name, spec_hash, action, bundle_version, applied_at) VALUES (?, ?, ?, ?, ?, ?, ?)
          ON CONFLICT (driver, kind, name) DO UPDATE SET spec_hash = excluded.spec_hash, action = excluded.action,
            bundle_version = excluded.bundle_version, applied_at = excluded.applied_at`,
    args: [o.driver, o.kind, o.name, o.specHash, o.action, o.bundleVersion, now.toISOString()],
  };
}

export async function appliedCount(db: Pick<Db, "execute">): Promise<number> {
  const rs = await db.execute("SELECT COUNT(*) AS n FROM applied");
  return Number(rs.rows[0]?.n ?? 0);
}
