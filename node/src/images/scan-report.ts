/**
 * A scanner's JSON report as minga's findings. Two formats are read, told
 * apart by their shape:
 * - Trivy's (`trivy image --format json`): `Results[].Vulnerabilities[]`
 *   with `VulnerabilityID`, `PkgName`, `InstalledVersion`, `FixedVersion`,
 *   `Severity` (CRITICAL…UNKNOWN); `Trivy.Version` when it says
 *   (https://trivy.dev/latest/docs/configuration/reporting/#json).
 * - Grype's (`grype -o json`): `matches[]` with `vulnerability.id`,
 *   `vulnerability.severity` (Critical…Negligible, Unknown),
 *   `vulnerability.fix.versions`, `artifact.name`, `artifact.version`;
 *   `descriptor.name`, `.version` and `.db.built` (or `.db.status.built`)
 *   (https://github.com/anchore/grype, presenter/models).
 * An entry that cannot be read fails the whole report (ScanError): a
 * finding dropped in silence would be a pass nobody gave.
 */
import { VULNERABILITY_PATTERN, type Finding, type Severity } from '@minga/protocol'
import { ScanError } from '../errors.js'
import type { ScannerReport } from '../core/images/types.js'

const SEVERITY: Record<string, Severity> = { critical: 'critical', high: 'high', medium: 'medium', moderate: 'medium', low: 'low', negligible: 'low', unknown: 'unknown' }

type Json = Record<string, unknown>

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v)
const str = (v: unknown): string | undefined => typeof v === 'string' && v !== '' ? v : undefined

/** the findings of a Trivy or Grype JSON report; ScanError saying what is wrong when it is neither */
export function parseScanReport (text: string, fallbackName: string): ScannerReport {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    throw new ScanError(`The scanner did not print JSON (it began "${text.slice(0, 80).replace(/\s+/g, ' ')}"); it must print Trivy's (--format json) or Grype's (-o json) report`)
  }
  if (isObject(json) && Array.isArray(json.matches)) return grype(json, fallbackName)
  if (isObject(json) && (Array.isArray(json.Results) || 'SchemaVersion' in json)) return trivy(json, fallbackName)
  throw new ScanError('The scanner printed JSON that is neither Trivy\'s (Results) nor Grype\'s (matches) report')
}

function trivy (json: Json, fallbackName: string): ScannerReport {
  const findings: Finding[] = []
  const results = Array.isArray(json.Results) ? json.Results : []
  for (const [r, result] of results.entries()) {
    if (!isObject(result)) throw new ScanError(`Trivy's report has a result that is not an object (Results[${r}])`)
    const vulns = result.Vulnerabilities ?? []
    if (!Array.isArray(vulns)) throw new ScanError(`Trivy's report has Results[${r}].Vulnerabilities that is not a list`)
    for (const [i, v] of vulns.entries()) {
      const at = `Results[${r}].Vulnerabilities[${i}]`
      if (!isObject(v)) throw new ScanError(`Trivy's report has an entry that is not an object (${at})`)
      findings.push(finding(at, v.VulnerabilityID, v.Severity, v.PkgName, v.InstalledVersion, v.FixedVersion))
    }
  }
  const version = isObject(json.Trivy) ? str(json.Trivy.Version) : undefined
  return { scanner: version === undefined ? fallbackName : `trivy ${version}`, findings }
}

function grype (json: Json, fallbackName: string): ScannerReport {
  const findings: Finding[] = []
  for (const [i, m] of (json.matches as unknown[]).entries()) {
    const at = `matches[${i}]`
    if (!isObject(m) || !isObject(m.vulnerability) || !isObject(m.artifact)) throw new ScanError(`Grype's report has an entry without vulnerability and artifact (${at})`)
    const fix = isObject(m.vulnerability.fix) ? m.vulnerability.fix : {}
    const versions = Array.isArray(fix.versions) ? fix.versions.filter((x): x is string => typeof x === 'string' && x !== '') : []
    findings.push(finding(at, m.vulnerability.id, m.vulnerability.severity, m.artifact.name, m.artifact.version, versions.length > 0 && fix.state !== 'not-fixed' ? versions.join(', ') : undefined))
  }
  const descriptor = isObject(json.descriptor) ? json.descriptor : {}
  const db = isObject(descriptor.db) ? descriptor.db : {}
  const builtText = str(db.built) ?? (isObject(db.status) ? str(db.status.built) : undefined)
  const built = builtText === undefined ? NaN : Date.parse(builtText)
  const name = str(descriptor.name)
  const version = str(descriptor.version)
  return {
    scanner: name === undefined ? fallbackName : `${name}${version === undefined ? '' : ` ${version}`}`,
    findings,
    ...(Number.isFinite(built) ? { dbBuilt: built } : {})
  }
}

function finding (at: string, id: unknown, severity: unknown, pkg: unknown, installed: unknown, fixed: unknown): Finding {
  if (typeof id !== 'string' || !VULNERABILITY_PATTERN.test(id)) throw new ScanError(`The scanner's report names a vulnerability minga cannot record (${at}: ${JSON.stringify(id)?.slice(0, 80)}); ids look like CVE-2024-1234`)
  const level = SEVERITY[String(severity).toLowerCase()]
  if (level === undefined) throw new ScanError(`The scanner's report gives ${id} a severity minga does not know (${at}: ${JSON.stringify(severity)?.slice(0, 40)})`)
  const fix = str(fixed)
  return {
    id,
    severity: level,
    package: (str(pkg) ?? '?').slice(0, 256),
    installed: (str(installed) ?? '?').slice(0, 128),
    ...(fix === undefined ? {} : { fixed: fix.slice(0, 256) })
  }
}
