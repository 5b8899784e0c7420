/**
 * Garbage collection of this node's chunk store. A root is in use while a
 * record names it for a reason: an image that a service's entry pins
 * (`imageDigest`) or that a tag names now, a scanner database, a build's
 * bundle or log. Every `intervalMs` the store is swept: a root held here
 * that has not been in use for `graceMs` (by this node's clock, since the
 * sweep that first found it unused) is unmarked, and every chunk that no
 * root in use held here names is deleted once it too has been unnamed for
 * `graceMs` — so the chunks of a fetch or a push under way (stored before
 * their root is marked) are never taken, and a rollback to the previous
 * digest within the grace finds its bytes still here. Deleting a chunk
 * here never deletes it from the mesh: other holders keep theirs.
 */
import { chunksOfIndex } from '@minga/protocol'
import type { Clock, Timer } from '../clock.js'
import type { CoreComponents } from '../components.js'
import { errorText, type Logger } from '../logger.js'
import type { Images } from './images.js'
import type { ChunkStore } from './types.js'

/** how often the store is swept (ms) */
export const GC_INTERVAL_MS = 10 * 60_000
/** how long a root or chunk must have been unused before it is deleted (ms) */
export const GC_GRACE_MS = 60 * 60_000

export interface ChunkGcComponents {
  state: CoreComponents['state']
  images: Pick<Images, 'indexOf' | 'emit'>
  store: ChunkStore
  clock: Clock
  log: Logger
  intervalMs?: number
  graceMs?: number
}

export interface SweepResult {
  /** roots unmarked */
  roots: number
  /** chunks deleted */
  chunks: number
  bytes: number
}

/** the roots the records name as in use (see above) */
export function rootsInUse (state: CoreComponents['state']): Set<string> {
  const digests = new Set<string>()
  for (const entry of state.records('service')) if (entry.value.spec.imageDigest !== undefined) digests.add(entry.value.spec.imageDigest)
  for (const entry of state.records('tag')) digests.add(entry.value.digest)
  const roots = new Set<string>()
  for (const entry of state.records('image')) if (digests.has(`sha256:${entry.key.split('/')[2]}`)) roots.add(entry.value.index)
  for (const entry of state.records('scanner-db')) roots.add(entry.value.index)
  // a build's git bundle, a result's image and log: every chunk index they name
  const walk = (value: unknown): void => {
    if (typeof value === 'string' && /^[0-9a-f]{64}$/.test(value)) roots.add(value)
    else if (typeof value === 'object' && value !== null) for (const v of Object.values(value)) walk(v)
  }
  for (const entry of state.records('build')) walk(entry.value)
  for (const entry of state.records('build-result')) walk(entry.value)
  return roots
}

/** the sweeps (see above) */
export class ChunkGc {
  private timer?: Timer
  private readonly unusedSince = new Map<string, number>()
  private sweeping = false

  constructor (private readonly init: ChunkGcComponents) {}

  start (): void {
    this.timer = this.init.clock.every(this.init.intervalMs ?? GC_INTERVAL_MS, () => {
      void this.sweep().catch((err) => { this.init.log.error('chunk sweep failed: %s', errorText(err)) })
    })
  }

  stop (): void {
    this.timer?.cancel()
  }

  /** one sweep; what it deleted */
  async sweep (): Promise<SweepResult> {
    const result: SweepResult = { roots: 0, chunks: 0, bytes: 0 }
    if (this.sweeping) return result
    this.sweeping = true
    try {
      const { store, state, clock } = this.init
      const now = clock.now()
      const grace = this.init.graceMs ?? GC_GRACE_MS
      const used = rootsInUse(state)
      const due = (key: string, unused: boolean): boolean => {
        if (!unused) { this.unusedSince.delete(key); return false }
        const since = this.unusedSince.get(key) ?? now
        this.unusedSince.set(key, since)
        return now - since >= grace
      }
      // the chunks of a root unused for the grace go with it (unless another root names them)
      const freed = new Set<string>()
      for (const root of store.roots()) {
        if (due(`root ${root}`, !used.has(root))) {
          const index = await this.init.images.indexOf(root)
          freed.add(root)
          for (const chunk of index === undefined ? [] : chunksOfIndex(index)) freed.add(chunk)
          await store.unmarkRoot(root)
          this.unusedSince.delete(`root ${root}`)
          result.roots++
        }
      }
      const named = new Set<string>()
      for (const root of store.roots()) {
        named.add(root)
        const index = await this.init.images.indexOf(root)
        if (index === undefined) continue
        for (const chunk of chunksOfIndex(index)) named.add(chunk)
      }
      const before = store.usage().bytes
      for (const chunk of [...store.digests()]) {
        if (named.has(chunk) || !(freed.has(chunk) || due(`chunk ${chunk}`, true))) {
          if (named.has(chunk)) this.unusedSince.delete(`chunk ${chunk}`)
          continue
        }
        await store.delete(chunk)
        this.unusedSince.delete(`chunk ${chunk}`)
        result.chunks++
      }
      result.bytes = Math.max(0, before - store.usage().bytes)
      // forget what is gone
      const held = new Set(store.digests())
      for (const key of this.unusedSince.keys()) if (key.startsWith('chunk ') && !held.has(key.slice(6))) this.unusedSince.delete(key)
      if (result.roots + result.chunks > 0) this.init.images.emit('image', 'chunks', `swept this node's chunk store: ${result.roots} unused image(s) or file(s), ${result.chunks} chunk(s), ${(result.bytes / 1e6).toFixed(1)} MB freed (unused for ${Math.round(grace / 60_000)} min; other holders keep theirs)`)
      return result
    } finally {
      this.sweeping = false
    }
  }
}
