/**
 * The operator's verbs on images (`minga image push|ls|scan`, `minga policy
 * set`): what the control API hands to its image routes. Each works on
 * this node's organization; the records it writes are signed by this node.
 */
import { BLOCK_LEVELS, keys, tagKeyId, withTag, type BlockLevel, type PolicyRecord, type ScannerDbRecord } from '@minga/protocol'
import { BadRequestError } from '../../errors.js'
import type { AbortOptions } from '../../runtime/types.js'
import type { ReconcileView } from '../components.js'
import type { Images, PushResult } from './images.js'
import type { ImageScans, ScanResult } from './scans.js'

/** the kinds of scanner a database can be for */
const SCANNER_KINDS = ['trivy', 'grype', 'command']

/** a service that runs an older digest than its tag's (`minga image ls --outdated`) */
export interface OutdatedService {
  service: string
  /** the tag it follows */
  image: string
  /** the digest its entry pins */
  running: string
  /** the digest its tag names now */
  current: string
  /** when the current digest was pushed (ms since epoch), if this node may read its record */
  pushed?: number
  /** it follows its tag (update.watch): the update is on its way, or the gate refused it */
  watch: boolean
}

/** one image of the mesh as `minga image ls` shows it */
export interface ImageView {
  /** the org that made it available */
  org: string
  /** the image id: `sha256:<hex>` */
  digest: string
  tags: string[]
  /** bytes of its config and layers */
  size: number
  layers: number
  private: boolean
  source: 'push' | 'build' | 'registry'
  /** ms since epoch */
  pushed: number
  /** the node that wrote its record (it holds it) */
  by: string
  /** nodes assigned replicas pinned to it (they hold it once running) */
  runningOn: string[]
  /** this node's store holds every chunk of it */
  here: boolean
  /** its scan by its org, in a line (or why there is none) */
  scan: string
}

export interface ImageOpsComponents {
  images: Images
  scans: ImageScans
  reconcile: Pick<ReconcileView, 'desired' | 'currentAssignment'>
  /** the chunk roots this node's store holds */
  roots: () => string[]
}

/** the image verbs (see above) */
export class ImageOperations {
  constructor (private readonly init: ImageOpsComponents) {}

  /** the engine's image `ref` into the mesh, for this node's org */
  async push (ref: string, options: AbortOptions & { private?: boolean } = {}): Promise<PushResult & { org: string }> {
    const result = await this.init.images.push(ref, { private: options.private })
    return { ...result, org: this.init.images.org }
  }

  /** every image this node may read, newest first */
  async list (): Promise<ImageView[]> {
    const { images, scans, reconcile } = this.init
    const roots = new Set(this.init.roots())
    const assignment = reconcile.currentAssignment()
    const own = images.state.memberOrg(images.identity.peerId)
    const out: ImageView[] = []
    for (const entry of images.state.records('image')) {
      const [, org, hex] = entry.key.split('/')
      const record = entry.value
      if (record.private === true && org !== own) continue
      const digest = `sha256:${hex}`
      const runningOn = new Set<string>()
      for (const service of reconcile.desired()) {
        if (service.spec.imageDigest !== digest) continue
        for (const node of assignment.services[service.id] ?? []) if (node !== null) runningOn.add(node)
      }
      out.push({
        org,
        digest,
        tags: record.tags,
        size: record.size,
        layers: record.layers,
        private: record.private === true,
        source: record.source,
        pushed: record.pushed,
        by: entry.author,
        runningOn: [...runningOn].sort(),
        here: roots.has(record.index),
        scan: await scans.summary(org, digest)
      })
    }
    return out.sort((a, b) => b.pushed - a.pushed || a.digest.localeCompare(b.digest))
  }

  /**
   * Services (of every org whose tags this node may read) that run another
   * digest than their tag names now, oldest first: what `update.watch` would
   * roll, or what a deploy by tag would
   */
  outdated (): OutdatedService[] {
    const { images, reconcile } = this.init
    const out: OutdatedService[] = []
    for (const service of reconcile.desired()) {
      const spec = service.spec
      if (spec.imageDigest === undefined || spec.image.includes('@') || spec.image.startsWith('sha256:')) continue
      const tag = withTag(spec.image)
      const current = images.state.value(keys.tag(spec.org, tagKeyId(tag)))?.digest
      if (current === undefined || current === spec.imageDigest) continue
      const pushed = images.readable(current)[0]?.value.pushed
      out.push({ service: service.id, image: tag, running: spec.imageDigest, current, ...(pushed === undefined ? {} : { pushed }), watch: spec.update.watch === true })
    }
    return out.sort((a, b) => (a.pushed ?? 0) - (b.pushed ?? 0) || a.service.localeCompare(b.service))
  }

  /** the nodes that hold every chunk of the image `digest` now, and how many live members could */
  async holders (digest: string, options: AbortOptions = {}): Promise<{ holders: string[], eligible: number }> {
    return await this.init.images.holders(digest, options)
  }

  /** scans `ref` for this node's org and records the result (NO_SCANNER when none is configured) */
  async scan (ref: string, options: AbortOptions = {}): Promise<ScanResult> {
    return await this.init.scans.scan(ref, options)
  }

  /** sets this org's scan gate: the findings it blocks, the oldest scanner database it accepts (ms), its scanner command */
  async setPolicy (policy: { block: string, maxDbAge?: number, scanner?: string }): Promise<PolicyRecord & { org: string }> {
    if (!(BLOCK_LEVELS as readonly string[]).includes(policy.block)) throw new BadRequestError(`--block takes one of ${BLOCK_LEVELS.join(', ')}; "${policy.block.slice(0, 40)}" is not one`)
    const record: PolicyRecord = {
      block: policy.block as BlockLevel,
      ...(policy.maxDbAge === undefined ? {} : { maxDbAge: policy.maxDbAge }),
      ...(policy.scanner === undefined ? {} : { scanner: policy.scanner })
    }
    const { images } = this.init
    await images.state.write(images.identity, keys.policy(images.org), record)
    images.emit('scan', images.org, `${images.org}'s scan gate now blocks ${record.block} findings${record.maxDbAge === undefined ? '' : `, with a database at most ${Math.round(record.maxDbAge / 3_600_000)} h old`}${record.scanner === undefined ? '' : `, scanned by "${record.scanner}"`}`)
    return { ...record, org: images.org }
  }

  /**
   * A scanner's vulnerability database into the mesh for this org: stored
   * here as a blob (`file`'s bytes), named by `scanner-db/<org>/<scanner>`
   * with when it was built; every node that scans for the org fetches it
   * from the mesh (scans.ts). BadRequestError when `built` is in the future
   * or `scanner` is no kind minga runs
   */
  async pushScannerDb (file: AsyncIterable<Uint8Array>, options: { built: number, scanner?: string }): Promise<ScannerDbRecord & { org: string, scanner: string }> {
    const { images, scans } = this.init
    const org = images.org
    const scanner = options.scanner ?? await scans.scannerFor(org)
    if (scanner === undefined) throw new BadRequestError('This node has no scanner to tell which database this is: say --scanner trivy, grype or command')
    if (!SCANNER_KINDS.includes(scanner)) throw new BadRequestError(`--scanner takes ${SCANNER_KINDS.join(', ')}; "${scanner.slice(0, 32)}" is not one`)
    if (!Number.isFinite(options.built) || options.built > images.now() + 3_600_000) throw new BadRequestError('--built must be when the database was built (an ISO 8601 time, not in the future), e.g. 2026-11-29T06:00:00Z')
    const { root, size } = await images.putFile(file)
    const record: ScannerDbRecord = { index: root, size, built: options.built, pushed: images.now() }
    await images.state.write(images.identity, keys.scannerDb(org, scanner), record)
    images.emit('scan', org, `${org}'s ${scanner} database of ${new Date(options.built).toISOString().slice(0, 16)}Z (${(size / 1e6).toFixed(1)} MB) is in the mesh; scans for ${org} use it from now on`)
    return { ...record, org, scanner }
  }

  /** this node's organization */
  get org (): string {
    return this.init.images.org
  }

  /** this org's scan gate, if it has one */
  policy (): PolicyRecord | undefined {
    return this.init.scans.policy(this.init.images.org)
  }
}
