/**
 * The scan gate: does an organization's policy let an image be deployed?
 * Pure. Without a blocking policy every image passes, and what is known of
 * its scan is said ("not scanned: no scanner configured" when nothing is
 * known, never a silent pass). With one, an image passes only with a scan
 * that did not fail, was made with a database no older than the policy
 * allows, and lists no finding the policy blocks that is not waived.
 */
import { SEVERITIES, type BlockLevel, type Finding, type PolicyRecord, type ScanRecord } from '@minga/protocol'

export const NO_SCANNER = 'not scanned: no scanner configured'

export interface GateInput {
  policy?: PolicyRecord
  scan?: ScanRecord
  /** no scan was possible here: no scanner is configured for the org */
  noScanner: boolean
  /** vulnerability ids waived for this service and digest */
  waived: ReadonlySet<string>
  /** ms since epoch */
  now: number
}

export type GateVerdict =
  | { pass: true, summary: string }
  | { pass: false, summary: string, problems: string[], blocked: Finding[] }

/** does `finding` break the block level? */
export function blocks (level: BlockLevel, finding: Finding): boolean {
  const severe = level.startsWith('critical') ? finding.severity === 'critical' : finding.severity === 'critical' || finding.severity === 'high'
  return level !== 'none' && severe && (!level.endsWith('-fixable') || finding.fixed !== undefined)
}

/** how many findings of a scan break the level, by its counts (the list may be cut) */
function blockedCount (level: BlockLevel, scan: ScanRecord): number {
  const counts = level.endsWith('-fixable') ? scan.fixable : scan.counts
  return level.startsWith('critical') ? counts.critical : counts.critical + counts.high
}

/** one line of what a scan found: `2 critical (1 fixable), 5 high, …` or why there is none */
export function scanSummary (scan: ScanRecord | undefined, noScanner: boolean): string {
  if (scan === undefined) return noScanner ? NO_SCANNER : 'not scanned yet'
  if (scan.error !== undefined) return `scan failed: ${scan.error}`
  const parts = SEVERITIES.filter(s => scan.counts[s] > 0).map(s => `${scan.counts[s]} ${s}${scan.fixable[s] > 0 ? ` (${scan.fixable[s]} fixable)` : ''}`)
  return `${parts.length === 0 ? 'no findings' : parts.join(', ')} (${scan.scanner}, ${new Date(scan.at).toISOString().slice(0, 16)}Z)`
}

/** the verdict of the org's policy on one image (see above) */
export function judge (input: GateInput): GateVerdict {
  const { policy, scan, waived, now } = input
  const summary = scanSummary(scan, input.noScanner)
  if (policy === undefined || policy.block === 'none') return { pass: true, summary }
  const refuse = (problem: string): GateVerdict => ({ pass: false, summary, problems: [problem], blocked: [] })
  if (scan === undefined) return refuse(`${summary}, and the policy blocks ${policy.block} findings: install trivy or grype on this node, or set the org's scanner with minga policy set --scanner CMD`)
  if (scan.error !== undefined) return refuse(`${summary}; the policy blocks ${policy.block} findings, so an image must be scanned: fix the scanner and run minga image scan`)
  if (policy.maxDbAge !== undefined) {
    if (scan.db === undefined) return refuse(`the scanner's database age is unknown, and the policy allows at most ${days(policy.maxDbAge)}: push a dated database with minga scanner-db push FILE --built TIME, then scan again`)
    const age = now - scan.db.built
    if (age > policy.maxDbAge) return refuse(`the scanner's database is ${days(age)} old; the policy allows ${days(policy.maxDbAge)}: push a newer one with minga scanner-db push FILE, then scan again (minga image scan)`)
  }
  const blocked = scan.findings.filter(f => blocks(policy.block, f) && !waived.has(f.id))
  const unlisted = blockedCount(policy.block, scan) - scan.findings.filter(f => blocks(policy.block, f)).length
  const problems = blocked.map(f => `${f.id} (${f.severity}, ${f.package} ${f.installed}${f.fixed === undefined ? ', no fix yet' : ` → ${f.fixed} fixes it`})`)
  if (unlisted > 0) problems.push(`${unlisted} more ${policy.block} finding(s) the scan did not list (they cannot be waived one by one)`)
  if (problems.length === 0) return { pass: true, summary }
  return { pass: false, summary, problems, blocked }
}

function days (ms: number): string {
  const d = ms / 86_400_000
  return d >= 1 ? `${d.toFixed(d < 10 ? 1 : 0)} days` : `${Math.round(ms / 3_600_000)} hours`
}
