import type { Logger } from "pino";
import type { Events } from "../report/events.ts";

/**
 * What the agent does when the hub's Date header shows this host's clock off (the AgentClient
 * learns the offset and signs request tokens on hub time from then on, see shared client/clock.ts):
 * it says so, once per change, in its log and as a `clock-skew` event (queued, so the hub hears of it
 * even when the skew was what kept the agent out). Trust checks (bundle and keys expiry) keep using
 * this host's own clock: the hub's unsigned Date header must not be able to revive an expired bundle.
 */
export function describeOffset(offsetMs: number): string {
  const s = Math.round(Math.abs(offsetMs) / 1000);
  // offset = hub - local: a positive offset means this host is behind.
  return `${s} s ${offsetMs > 0 ? "behind" : "ahead of"} the hub's`;
}

export function clockWatch(o: { events: () => Events | null; log: Logger }): (offsetMs: number, hubDate: string) => void {
  return (offsetMs, hubDate) => {
    const off = offsetMs !== 0;
    const message = off
      ? `this host's clock is ${describeOffset(offsetMs)} (hub: ${hubDate}, here: ${new Date().toUTCString()}): request tokens are now signed on the hub's time; ` +
        "bundle and key expiry are still judged on this clock. Fix this host's time sync (NTP)."
      : `this host's clock is back in line with the hub's (hub: ${hubDate}); request tokens signed on local time again`;
    const event = {
      type: "clock-skew" as const, severity: off ? ("warning" as const) : ("info" as const), code: off ? "CLOCK_SKEW" : "CLOCK_OK", message,
      details: { offsetSeconds: Math.round(offsetMs / 1000), hubDate, localDate: new Date().toISOString() },
    };
    const events = o.events();
    if (!events) { o.log.warn(message); return; }
    // Events.emit logs it too. A state file that cannot take the event (disk full) must not break the request.
    void events.emit(event).catch((e: unknown) => o.log.warn({ err: (e as Error).message }, message));
  };
}
