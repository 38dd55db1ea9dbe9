/**
 * Work queued by key: work for one key runs after the work queued before it
 * for that key has ended (whether it succeeded or not); work for different
 * keys runs side by side. A key is forgotten once its queue is empty, so
 * the map holds only keys with work queued or under way.
 */
export class OneAtATime<K> {
  private readonly tails = new Map<K, Promise<void>>()

  /** Runs `work` once the work queued before it for `key` has ended; its result or error. */
  async run<T> (key: K, work: () => Promise<T>): Promise<T> {
    const before = this.tails.get(key) ?? Promise.resolve()
    const mine = before.then(work)
    const tail = mine.then(() => {}, () => {})
    this.tails.set(key, tail)
    try {
      return await mine
    } finally {
      if (this.tails.get(key) === tail) this.tails.delete(key)
    }
  }
}
