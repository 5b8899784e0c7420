/**
 * Scanning images and keeping the results in the mesh: `scan(ref)` runs the
 * scanner this node finds for its organization (the org's command, else
 * Trivy or Grype on PATH) on the image, with the org's scanner database
 * from the mesh when it has one, and writes `scan/<org>/<hex>` for every
 * node to read. Without a scanner it says so, and records nothing: a
 * missing scan is never mistaken for a clean one.
 */
import {
  IMAGE_LIMITS, SEVERITIES, keys, messageOf, type Finding, type PolicyRecord, type ScanRecord, type SeverityCounts
} from '@minga/protocol'
import { ScanError } from '../../errors.js'
import type { AbortOptions } from '../../runtime/types.js'
import { readFile } from './chunking.js'
import type { Images } from './images.js'
import { NO_SCANNER, scanSummary } from './gate.js'
import type { ChunkStore, Scanner, ScannerDb } from './types.js'

export interface ScansComponents {
  images: Images
  store: ChunkStore
  scanner?: Scanner
  now: () => number
}

export interface ScanResult {
  digest: string
  record?: ScanRecord
  /** one line: what it found, or why there is no scan */
  summary: string
}

const zero = (): SeverityCounts => ({ critical: 0, high: 0, medium: 0, low: 0, unknown: 0 })

/** a scanner's report as the record the mesh keeps: counts, and the findings most severe first, cut at the limit */
export function scanRecord (report: { scanner: string, findings: Finding[] }, at: number, db?: ScanRecord['db']): ScanRecord {
  const counts = zero()
  const fixable = zero()
  const seen = new Set<string>()
  const findings: Finding[] = []
  for (const f of report.findings) {
    const key = `${f.id} ${f.package}`
    if (seen.has(key)) continue
    seen.add(key)
    counts[f.severity]++
    if (f.fixed !== undefined) fixable[f.severity]++
    findings.push(f)
  }
  findings.sort((a, b) => SEVERITIES.indexOf(a.severity) - SEVERITIES.indexOf(b.severity) || Number(b.fixed !== undefined) - Number(a.fixed !== undefined) || a.id.localeCompare(b.id))
  const listed = findings.slice(0, IMAGE_LIMITS.findings)
  return {
    scanner: report.scanner.slice(0, 256),
    at,
    ...(db === undefined ? {} : { db }),
    counts,
    fixable,
    findings: listed,
    ...(findings.length > listed.length ? { truncated: findings.length - listed.length } : {})
  }
}

/** scans (see above) */
export class ImageScans {
  constructor (private readonly init: ScansComponents) {}

  /** the org's policy, if it has one */
  policy (org: string): PolicyRecord | undefined {
    return this.init.images.state.value(keys.policy(org))
  }

  /** the kind of scanner this node would use for `org`, or undefined */
  async scannerFor (org: string): Promise<'trivy' | 'grype' | 'command' | undefined> {
    return await this.init.scanner?.find(this.policy(org)?.scanner)
  }

  /** the last scan of `digest` by `org`, if any */
  recorded (org: string, digest: string): ScanRecord | undefined {
    return this.init.images.state.value(keys.scan(org, digest.slice('sha256:'.length)))
  }

  /** what `org` knows of `digest`'s scan, in a line */
  async summary (org: string, digest: string): Promise<string> {
    const scan = this.recorded(org, digest)
    return scanSummary(scan, scan === undefined && await this.scannerFor(org) === undefined)
  }

  /**
   * Scans the image (a reference or an id) for this node's org and records
   * the result; without a scanner, answers NO_SCANNER and records nothing.
   * A scan that fails is recorded as failed (the gate refuses it) and thrown
   */
  async scan (ref: string, options: AbortOptions = {}): Promise<ScanResult> {
    const { images, scanner } = this.init
    const org = images.org
    const resolved = await images.resolve(ref, options)
    const digest = resolved.digest
    const policy = this.policy(org)
    const kind = await scanner?.find(policy?.scanner)
    if (scanner === undefined || kind === undefined) return { digest, summary: NO_SCANNER }
    await images.ensure(digest, { ...options, ref })
    const db = await this.database(org, kind, options)
    images.emit('scan', ref, `scanning ${ref} (${digest.slice(0, 19)}) with ${kind === 'command' ? 'the org\'s scanner' : kind}${db === undefined ? '' : `, database of ${new Date(db.built).toISOString().slice(0, 10)}`}`)
    let record: ScanRecord
    try {
      const report = await scanner.scan(digest, { ...options, command: policy?.scanner, db })
      const built = db?.built ?? report.dbBuilt
      record = scanRecord(report, this.init.now(), built === undefined ? undefined : { built, ...(db === undefined ? {} : { index: db.root }) })
    } catch (err) {
      record = { scanner: kind, at: this.init.now(), counts: zero(), fixable: zero(), findings: [], error: messageOf(err).slice(0, 1000) }
      await images.state.write(images.identity, keys.scan(org, digest.slice(7)), record)
      images.emit('scan', ref, `scan of ${ref} failed: ${record.error!}`)
      throw new ScanError(`The scan of ${ref} failed: ${record.error!}`)
    }
    await images.state.write(images.identity, keys.scan(org, digest.slice(7)), record)
    const summary = scanSummary(record, false)
    images.emit('scan', ref, `${ref} (${digest.slice(0, 19)}): ${summary}`)
    return { digest, record, summary }
  }

  /** the org's scanner database for this kind of scanner, fetched from the mesh when this node lacks it */
  private async database (org: string, kind: string, options: AbortOptions): Promise<ScannerDb | undefined> {
    const { images, store } = this.init
    const record = images.state.value(keys.scannerDb(org, kind))
    if (record === undefined) return undefined
    const index = await images.fetchRoot(record.index, options)
    const file = index.files[0]
    return { root: record.index, built: record.built, read: () => readFile(store, file) }
  }
}
