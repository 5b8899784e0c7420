/**
 * A Prometheus counter that mirrors a monotonic count kept elsewhere (the
 * core's `stats` objects): on each scrape it adds what the count grew by
 * since the last one, so the core keeps plain numbers and knows nothing of
 * Prometheus.
 */
import { Counter, type Registry } from 'prom-client'

export type Reading = Array<[Record<string, string>, number]>

/** a Prometheus counter whose value is read at scrape time from `read()` (label set → total), never decreasing */
export function counterFrom (registry: Registry, name: string, help: string, read: () => Reading, labelNames: string[] = []): Counter {
  const last = new Map<string, number>()
  return new Counter({
    name,
    help,
    labelNames,
    registers: [registry],
    collect () {
      for (const [labels, value] of read()) {
        const key = JSON.stringify(labels)
        const delta = value - (last.get(key) ?? 0)
        last.set(key, value)
        // a count that went down was reset (a restarted component): count its new value
        this.inc(labels, delta >= 0 ? delta : value)
      }
    }
  })
}
