/**
 * A promise-chain mutex. libSQL's local client runs each statement synchronously, so the store never
 * holds a database lock across an `await`; this lock only keeps read-decide-write sequences of this
 * process (say, outbox insert + trim) from interleaving with each other.
 */
export class Mutex {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn, fn);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
