/**
 * A promise-chain lock. libSQL's local driver runs statements synchronously, so if one connection
 * held SQLite's write lock across an `await` while another connection tried to write, the second
 * would busy-wait *on the event loop* and the first could never finish. Serialising this process's
 * writes avoids that; across hub replicas SQLite / sqld still arbitrate.
 */
export class Mutex {
  #tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(fn);
    this.#tail = result.catch(() => undefined);
    return result;
  }
}
