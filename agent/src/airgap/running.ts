import type { Db } from "../store/sqlite.ts";
import { journalRecent } from "../store/journal.ts";

/**
 * The pid of an agent process running on this state file, if any: the newest of its
 * agent-started / agent-stopped journal rows, and that pid still alive. A SIGKILLed agent leaves
 * no agent-stopped row, hence the liveness check.
 */
export async function runningAgentPid(db: Pick<Db, "execute">): Promise<number | null> {
  const [row] = await journalRecent(db, { limit: 1, typePrefix: "agent-st" });
  if (!row || row.type !== "agent-started") return null;
  const pid = row.detail.pid;
  if (typeof pid !== "number" || pid === process.pid) return null;
  try {
    process.kill(pid, 0);
    return pid;
  } catch (e) {
    // EPERM: it exists but belongs to another user (the agent runs as a service account).
    return (e as NodeJS.ErrnoException).code === "EPERM" ? pid : null;
  }
}
