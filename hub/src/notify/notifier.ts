/**
 * "Site X has a new bundle": the wake-up signal held long-polls wait for. An interface so the
 * in-process implementation can be swapped for an MQTT bus when several hub replicas share one
 * database (a bundle issued on replica A must wake a long-poll held by replica B).
 */
export interface BundleNotifier {
  /** Announce that `version` is now the newest bundle for `site` (call after the write commits). */
  publish(site: string, version: number): void;
  /** Calls `listener` on every announcement for `site` until the returned function is called. */
  subscribe(site: string, listener: (version: number) => void): () => void;
  /** Listeners currently registered for a site (lets tests prove nothing leaks). */
  listenerCount(site: string): number;
  close(): Promise<void>;
}
