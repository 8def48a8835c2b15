import type { BundleNotifier } from "./notifier.ts";

/** Single-process notifier: a set of listeners per site. */
export class LocalNotifier implements BundleNotifier {
  readonly #listeners = new Map<string, Set<(version: number) => void>>();

  publish(site: string, version: number): void {
    // Copy first: a listener usually unsubscribes itself while being called.
    for (const l of [...(this.#listeners.get(site) ?? [])]) l(version);
  }

  subscribe(site: string, listener: (version: number) => void): () => void {
    let set = this.#listeners.get(site);
    if (!set) this.#listeners.set(site, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.#listeners.get(site) === set) this.#listeners.delete(site);
    };
  }

  listenerCount(site: string): number { return this.#listeners.get(site)?.size ?? 0; }

  async close(): Promise<void> { this.#listeners.clear(); }
}
