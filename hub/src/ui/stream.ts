import { eq } from "drizzle-orm";
import type { Context } from "hono";
import { streamSSE } from "hono/streaming";
import type { HubDb } from "../db/client.ts";
import { rollouts } from "../db/schema.ts";
import type { UiEnv } from "./session.ts";

export const STREAM_TICK_MS = 1000;
/** A comment line this often keeps proxies from closing a quiet stream. */
const HEARTBEAT_MS = 15_000;

/**
 * GET /ui/rollouts/:id/stream: the rollout's progress (a RolloutView, as the API gives it) as
 * `progress` events, one at once and another whenever it changes. Each tick costs ONE indexed
 * query (the row's `rev`, which every engine decision and operator action bumps); only a changed
 * rev fetches the full view, through the API with the viewer's token, so a revoked token ends the
 * stream. Ends when the browser goes away or the hub shuts down.
 */
export function rolloutStream(c: Context<UiEnv>, hub: HubDb, id: string, shutdown: AbortSignal): Response {
  const api = c.get("api");
  return streamSSE(c, async (stream) => {
    let lastRev: number | null = null;
    let lastBeat = Date.now();
    const stop = new AbortController();
    const end = () => stop.abort();
    shutdown.addEventListener("abort", end, { once: true });
    stream.onAbort(end);
    try {
      while (!stop.signal.aborted) {
        const [row] = await hub.db.select({ rev: rollouts.rev }).from(rollouts).where(eq(rollouts.id, id)).limit(1);
        if (!row) break;
        if (row.rev !== lastRev) {
          const view = await api.getRollout(id);
          lastRev = row.rev;
          await stream.writeSSE({ event: "progress", id: String(row.rev), data: JSON.stringify(view) });
          lastBeat = Date.now();
        } else if (Date.now() - lastBeat > HEARTBEAT_MS) {
          await stream.write(": keep-alive\n\n");
          lastBeat = Date.now();
        }
        await sleep(STREAM_TICK_MS, stop.signal);
      }
    } finally {
      shutdown.removeEventListener("abort", end);
    }
  });
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() { clearTimeout(t); signal.removeEventListener("abort", done); resolve(); }
    signal.addEventListener("abort", done, { once: true });
  });
}
