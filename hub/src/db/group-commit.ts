/**
 * Group commit: writes submitted while the previous batch is being written wait and then go
 * together, as ONE call of `write` (one transaction, one fsync), instead of each queueing for the
 * writer lock on its own. Under load the batches grow by themselves and the lock's queue holds at
 * most one batch per GroupCommit, so a write that must not wait long (the rollout lease) never
 * sits behind thousands of single-row transactions; when idle a write goes out on the next turn
 * of the event loop.
 *
 * `write` gets the items in submission order and returns one result per item, in the same order.
 * If it throws for a batch of several, each item is written again on its own, so one bad item
 * fails only its own caller.
 */
export class GroupCommit<I, O> {
  #pending: { item: I; resolve: (o: O) => void; reject: (e: unknown) => void }[] = [];
  #busy = false;

  constructor(private readonly write: (items: I[]) => Promise<O[]>) {}

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.#pending.push({ item, resolve, reject });
      if (!this.#busy) { this.#busy = true; setImmediate(() => void this.#drain()); }
    });
  }

  async #drain(): Promise<void> {
    while (this.#pending.length > 0) {
      const batch = this.#pending;
      this.#pending = [];
      try {
        const out = await this.write(batch.map((b) => b.item));
        batch.forEach((b, i) => b.resolve(out[i]!));
      } catch (e) {
        if (batch.length === 1) { batch[0]!.reject(e); continue; }
        for (const b of batch) {
          try { b.resolve((await this.write([b.item]))[0]!); } catch (e1) { b.reject(e1); }
        }
      }
    }
    this.#busy = false;
  }
}

/** One GroupCommit per key object (the HubDb): every caller in a process shares its batches. */
export function perKey<K extends object, I, O>(make: (key: K) => (items: I[]) => Promise<O[]>): (key: K) => GroupCommit<I, O> {
  const all = new WeakMap<K, GroupCommit<I, O>>();
  return (key) => {
    let g = all.get(key);
    if (!g) { g = new GroupCommit(make(key)); all.set(key, g); }
    return g;
  };
}
