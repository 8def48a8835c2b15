import type { AgentClient, BundleAnswer } from "@outpost/shared";
import { sleep } from "../../lib/sleep.ts";

/**
 * What the HTTPS long-poll loop (HttpsSync, unchanged) calls instead of the hub while MQTT carries
 * delivery. `auto`: while the broker connection is up it holds each "poll" locally (answering "nothing
 * new") and asks the hub only once per `safetyPollMs`, so a broker that silently drops messages (or a
 * retained bundle overwritten by someone with broker access) cannot freeze a site; the moment the
 * connection is down it long-polls the hub for real. `mqtt`: it never asks the hub for bundles.
 */
export class BundleGate implements Pick<AgentClient, "bundle"> {
  #nextSafetyPoll: number;

  constructor(private readonly o: {
    client: Pick<AgentClient, "bundle">;
    mode: "mqtt" | "auto";
    mqttUp: () => boolean;
    /** Resolves when the MQTT connection goes down (or at once if it is). */
    mqttDown: (signal: AbortSignal) => Promise<void>;
    /** Resolves when the MQTT connection comes up (or at once if it is). */
    mqttComesUp: (signal: AbortSignal) => Promise<void>;
    safetyPollMs: number;
  }) {
    this.#nextSafetyPoll = Date.now() + o.safetyPollMs;
  }

  async bundle(known: number, wait: number, signal?: AbortSignal): Promise<BundleAnswer> {
    const s = signal ?? new AbortController().signal;
    // Hold at most `wait` seconds (the client times a long-poll out shortly after that), or 1 s when polling.
    const holdMs = Math.max(wait, 1) * 1000;
    if (this.o.mode === "mqtt") {
      await sleep(holdMs, s);
      return { status: 204 };
    }
    if (this.o.mqttUp()) {
      const left = this.#nextSafetyPoll - Date.now();
      if (left > 0) {
        const ac = new AbortController();
        const down = this.o.mqttDown(AbortSignal.any([s, ac.signal]));
        await Promise.race([sleep(Math.min(left, holdMs), s), down]);
        ac.abort();
        if (this.o.mqttUp()) return { status: 204 };
        // Fell over just now: long-poll the hub right away.
      } else {
        this.#nextSafetyPoll = Date.now() + this.o.safetyPollMs;
        return this.o.client.bundle(known, 0, signal); // the safety net: one quick look, no hold
      }
    }
    // Broker down: a real long-poll, cut short when the broker is back (MQTT then delivers).
    const ac = new AbortController();
    void this.o.mqttComesUp(AbortSignal.any([s, ac.signal])).then(() => ac.abort());
    try {
      return await this.o.client.bundle(known, wait, AbortSignal.any([s, ac.signal]));
    } catch (e) {
      if (ac.signal.aborted && !s.aborted) return { status: 204 };
      throw e;
    } finally { ac.abort(); }
  }
}
