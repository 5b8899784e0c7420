/**
 * Copies of the mesh's images that outlive their pusher: for each image a
 * desired service is pinned to, the `IMAGE_COPIES` live members with the
 * highest rendezvous score for its chunk index — sha256(root ‖ peer),
 * highest random weight hashing (Thaler and Ravishankar, 1998) — keep its
 * chunks in their store, fetched from whoever holds them. So the image of a
 * singleton whose only runner (and pusher) dies can still be fetched by the
 * node that takes it over. Every node computes the same keepers from the
 * same live set, and a change of that set moves only the copies it must.
 * A private image is kept only by nodes of its organization.
 */
import { sha256Hex, type Identity, type RecordEntry, type State } from '@minga/protocol'
import type { Clock, Timer } from '../clock.js'
import type { LiveSet, ReconcileView } from '../components.js'
import { errorText, type Logger } from '../logger.js'
import { SerialTask } from '../task.js'
import type { ChunkStore } from './types.js'

/** how many live members keep a copy of each pinned image */
export const IMAGE_COPIES = 3
/** how often the keepers are checked besides on changes of the state (ms): a holder's death shows here */
const CHECK_MS = 15_000

/** the `count` peers of `peers` that keep `root`: the highest sha256(root ‖ peer) */
export function keepers (root: string, peers: readonly string[], count = IMAGE_COPIES): string[] {
  const encoder = new TextEncoder()
  return peers.map(peer => ({ peer, score: sha256Hex(encoder.encode(`${root}\n${peer}`)) }))
    .sort((a, b) => a.score < b.score ? 1 : a.score > b.score ? -1 : 0)
    .slice(0, count).map(s => s.peer)
}

/** what the copies read of the images room (images.ts) */
export interface CopiesImages {
  state: State
  identity: Identity
  /** the image records of a digest this node may read, its own org's first */
  readable: (digest: string) => Array<RecordEntry<'image'>>
  /** the root's chunks fetched into this node's store */
  fetchRoot: (root: string) => Promise<unknown>
  emit: (kind: 'image', subject: string, reason: string) => void
}

export interface ImageCopiesComponents {
  images: CopiesImages
  store: Pick<ChunkStore, 'roots'>
  liveness: Pick<LiveSet, 'live'>
  reconcile: Pick<ReconcileView, 'desired'>
  clock: Clock
  log: Logger
}

/** keeps this node's share of the copies (see above) */
export class ImageCopies {
  private readonly task: SerialTask<void>
  private timer?: Timer
  private unsubscribe?: () => void

  constructor (private readonly init: ImageCopiesComponents) {
    this.task = new SerialTask(init.clock, 1000, async () => { await this.keep() }, () => {})
  }

  start (): void {
    this.task.start()
    this.timer = this.init.clock.every(CHECK_MS, () => this.task.schedule())
    this.unsubscribe = this.init.images.state.subscribe((applied) => {
      if (applied.some(e => e.key.startsWith('image/') || e.key.startsWith('service/'))) this.task.schedule()
    })
    this.task.schedule()
  }

  stop (): void {
    this.timer?.cancel()
    this.unsubscribe?.()
    this.task.stop()
  }

  /** the roots this node should keep and does not hold yet, fetched one at a time */
  async keep (): Promise<void> {
    const { images, store, liveness, reconcile } = this.init
    const self = images.identity.peerId
    const held = new Set(store.roots())
    const digests = new Set(reconcile.desired().flatMap(s => s.spec.imageDigest === undefined ? [] : [s.spec.imageDigest]))
    for (const digest of digests) {
      const record = images.readable(digest)[0]
      if (record === undefined || held.has(record.value.index)) continue
      const org = record.key.split('/')[1]
      const eligible = liveness.live().filter(p => record.value.private !== true || images.state.memberOrg(p) === org)
      if (!keepers(record.value.index, eligible).includes(self)) continue
      try {
        await images.fetchRoot(record.value.index)
        images.emit('image', digest, `keeping a copy of ${digest.slice(0, 19)} (${record.value.tags[0] ?? 'untagged'}) for the mesh`)
      } catch (err) {
        this.init.log.error('could not keep a copy of %s: %s', digest, errorText(err))
      }
    }
  }
}
