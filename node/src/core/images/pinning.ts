/**
 * What a deploy does with images: each spec's image is resolved to a
 * digest once (images.ts `resolve`: the org's tag in the mesh, else this
 * node's engine, else a registry, pushed into the mesh) and recorded in the
 * spec, so every node runs the same bytes and only a new digest rolls the
 * replicas; then the org's scan gate judges it (gate.ts), scanning first
 * when the org has no scan of it and this node has a scanner. Waivers given
 * with the deploy (`--waive CVE-…`) are signed entries, written only when
 * every spec passes; nothing is written when one does not.
 */
import { keys, type ScanRecord, type ServiceSpec } from '@minga/protocol'
import { BadRequestError, ImageGateError } from '../../errors.js'
import type { AbortOptions } from '../../runtime/types.js'
import { judge, NO_SCANNER } from './gate.js'
import type { Images } from './images.js'
import type { ImageScans } from './scans.js'

export interface PinOptions extends AbortOptions {
  /** vulnerability ids this deploy accepts in its images */
  waive?: string[]
  /** why (kept with each waiver) */
  reason?: string
  /** leave images unpinned: each node runs what the name means on it */
  unpinned?: boolean
}

export interface PinnedImage {
  service: string
  image: string
  digest?: string
  /** where the digest came from */
  from?: string
  /** what is known of its scan, in a line */
  scan: string
  /** waivers this deploy writes */
  waived: string[]
}

const VULN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,79}$/

/** pins and gates the images of a deploy (see above) */
export class DeployImages {
  constructor (private readonly images: Images, private readonly scans: ImageScans) {}

  /** the specs pinned, and what each image is; ImageGateError (nothing written) when the gate refuses one */
  async pin (specs: ServiceSpec[], options: PinOptions = {}): Promise<{ specs: ServiceSpec[], images: PinnedImage[] }> {
    const waive = [...new Set(options.waive ?? [])]
    const bad = waive.filter(id => !VULN.test(id))
    if (bad.length > 0) throw new BadRequestError(`--waive takes vulnerability ids like CVE-2024-1234; "${bad[0].slice(0, 80)}" is not one`)
    const out: ServiceSpec[] = []
    const pinned: PinnedImage[] = []
    const refusals: string[] = []
    const writes: Array<() => Promise<void>> = []
    for (const spec of specs) {
      if (options.unpinned === true && spec.imageDigest === undefined) {
        out.push(spec)
        pinned.push({ service: `${spec.org}/${spec.name}`, image: spec.image, scan: 'unpinned: each node runs what the name means on it, unscanned', waived: [] })
        continue
      }
      const resolved = spec.imageDigest === undefined ? await this.images.resolve(spec.image, options) : { digest: spec.imageDigest, from: 'digest' as const }
      const digest = resolved.digest
      const result = await this.judge(spec, digest, waive, options)
      if (!result.verdict.pass) {
        refusals.push(`${spec.org}/${spec.name} (${spec.image}, ${digest.slice(0, 19)}): ${result.verdict.problems.join('; ')}`)
        continue
      }
      const used = waive.filter(id => result.scan?.findings.some(f => f.id === id) === true)
      for (const id of used) {
        writes.push(async () => { await this.images.state.write(this.images.identity, keys.waiver(spec.org, spec.name, id), { digest, reason: options.reason ?? 'waived at deploy' }) })
      }
      out.push({ ...spec, imageDigest: digest })
      pinned.push({ service: `${spec.org}/${spec.name}`, image: spec.image, digest, from: resolved.from, scan: result.verdict.summary, waived: used })
    }
    if (refusals.length > 0) {
      const hint = waive.length === 0 ? '; fix the image, or accept a finding with --waive ID (signed, shown by minga audit)' : ''
      throw new ImageGateError(`The scan gate of ${this.images.org} refuses ${refusals.join(' | ')}${hint}`)
    }
    for (const write of writes) await write()
    for (const p of pinned) if (p.waived.length > 0) this.images.emit('scan', p.service, `${p.service}: ${p.waived.join(', ')} waived for ${p.digest!.slice(0, 19)}${options.reason === undefined ? '' : ` (${options.reason})`}`)
    return { specs: out, images: pinned }
  }

  /** the gate's verdict on one service's image, scanning first when the org has no usable scan and a scanner is here */
  async judge (spec: Pick<ServiceSpec, 'org' | 'name' | 'image'>, digest: string, waive: string[], options: AbortOptions = {}): Promise<{ verdict: ReturnType<typeof judge>, scan?: ScanRecord }> {
    const org = spec.org
    const policy = this.scans.policy(org)
    let scan = this.scans.recorded(org, digest)
    const scanner = await this.scans.scannerFor(org)
    if (scanner !== undefined && this.stale(org, scan)) scan = (await this.scans.scan(digest, options).catch(() => undefined))?.record ?? this.scans.recorded(org, digest)
    const waived = new Set(waive)
    for (const entry of this.images.state.records('waiver', `${org}/${spec.name}/`)) if (entry.value.digest === digest) waived.add(entry.key.split('/')[3])
    const verdict = judge({ policy, scan, noScanner: scanner === undefined, waived, now: this.images.now() })
    return { verdict, scan }
  }

  /** no scan, a failed one, or one made without the org's database or with one older than the org has now */
  private stale (org: string, scan: ScanRecord | undefined): boolean {
    if (scan === undefined || scan.error !== undefined) return true
    const newest = Math.max(0, ...this.images.state.records('scanner-db', `${org}/`).map(e => e.value.built))
    return newest > (scan.db?.built ?? 0)
  }
}

export { NO_SCANNER }
