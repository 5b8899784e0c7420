/**
 * Runs tasks one after another per key (a repository, a service, a volume),
 * in the order they were asked for; tasks of different keys run at once. A
 * failed task does not stop the ones queued after it.
 */
export class KeyedQueue {
  private readonly tails = new Map<string, Promise<unknown>>()

  /** true while a task of this key runs or waits */
  busy (key: string): boolean {
    return this.tails.has(key)
  }

  /** settles once no task of this key runs or waits */
  async idle (key: string): Promise<void> {
    for (let tail = this.tails.get(key); tail !== undefined; tail = this.tails.get(key)) await tail
  }

  async run<T> (key: string, task: () => Promise<T>): Promise<T> {
    const before = this.tails.get(key) ?? Promise.resolve()
    const run = before.catch(() => {}).then(task)
    const tail = run.catch(() => {})
    this.tails.set(key, tail)
    try {
      return await run
    } finally {
      if (this.tails.get(key) === tail) this.tails.delete(key)
    }
  }
}
