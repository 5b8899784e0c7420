/**
 * The scanner a node runs (issue 15): Trivy's and Grype's JSON reports read
 * into findings (an entry that cannot be read fails the report, never drops
 * a finding), and the org's command run for real as a child process: it is
 * given the image as a tar ($1, MINGA_IMAGE_TAR) and the database from the
 * mesh (MINGA_SCANNER_DB); trivy and grype are found on PATH; a command that
 * fails, prints garbage or runs too long is a ScanError saying so.
 */
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { parseScanReport } from '../src/images/scan-report.js'
import { CommandScanner } from '../src/images/scanner.js'

const TRIVY = JSON.stringify({
  SchemaVersion: 2,
  Trivy: { Version: '0.57.1' },
  Results: [
    { Target: 'alpine', Vulnerabilities: [{ VulnerabilityID: 'CVE-2024-0001', PkgName: 'openssl', InstalledVersion: '3.0.1', FixedVersion: '3.0.2', Severity: 'CRITICAL' }] },
    { Target: 'app', Vulnerabilities: null },
    { Target: 'lib', Vulnerabilities: [{ VulnerabilityID: 'GHSA-aaaa-bbbb-cccc', PkgName: 'lodash', InstalledVersion: '4.0', Severity: 'MEDIUM' }] }
  ]
})

const GRYPE = JSON.stringify({
  matches: [
    { vulnerability: { id: 'CVE-2024-0002', severity: 'High', fix: { versions: ['1.3'], state: 'fixed' } }, artifact: { name: 'zlib', version: '1.2' } },
    { vulnerability: { id: 'CVE-2024-0003', severity: 'Negligible', fix: { versions: [], state: 'not-fixed' } }, artifact: { name: 'bash', version: '5' } }
  ],
  descriptor: { name: 'grype', version: '0.84.0', db: { built: '2026-11-28T06:00:00Z' } }
})

test('Trivy\'s report: every result\'s findings, the fixed version, the version it says', () => {
  const report = parseScanReport(TRIVY, 'trivy')
  assert.is(report.scanner, 'trivy 0.57.1')
  assert.equal(report.findings, [
    { id: 'CVE-2024-0001', severity: 'critical', package: 'openssl', installed: '3.0.1', fixed: '3.0.2' },
    { id: 'GHSA-aaaa-bbbb-cccc', severity: 'medium', package: 'lodash', installed: '4.0' }
  ])
})

test('Grype\'s report: severities mapped (negligible is low), a fix only when there is one, the database\'s date', () => {
  const report = parseScanReport(GRYPE, 'grype')
  assert.is(report.scanner, 'grype 0.84.0')
  assert.is(report.dbBuilt, Date.parse('2026-11-28T06:00:00Z'))
  assert.equal(report.findings, [
    { id: 'CVE-2024-0002', severity: 'high', package: 'zlib', installed: '1.2', fixed: '1.3' },
    { id: 'CVE-2024-0003', severity: 'low', package: 'bash', installed: '5' }
  ])
})

test('a report that cannot be read whole fails: never a finding dropped in silence', () => {
  assert.throws(() => parseScanReport('Segmentation fault', 'x'), /did not print JSON/)
  assert.throws(() => parseScanReport('{"foo": 1}', 'x'), /neither Trivy's \(Results\) nor Grype's \(matches\)/)
  assert.throws(() => parseScanReport(JSON.stringify({ Results: [{ Vulnerabilities: [{ VulnerabilityID: 'CVE 1; rm -rf', Severity: 'HIGH' }] }] }), 'x'), /cannot record/)
  assert.throws(() => parseScanReport(JSON.stringify({ matches: [{ vulnerability: { id: 'CVE-1', severity: 'Dire' }, artifact: {} }] }), 'x'), /severity minga does not know/)
  assert.throws(() => parseScanReport(JSON.stringify({ matches: [7] }), 'x'), /without vulnerability and artifact/)
})

async function withDir (fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'minga-scanner-test-'))
  try { await fn(dir) } finally { await rm(dir, { recursive: true, force: true }) }
}

const saveTar = async (id: string, path: string): Promise<void> => { await writeFile(path, `tar of ${id}`) }
const db = (text: string): { root: string, built: number, read: () => AsyncIterable<Uint8Array> } => ({
  root: 'r',
  built: 1,
  read: async function * () { yield Buffer.from(text) }
})

test('the org\'s command: given the image\'s tar and the mesh\'s database, its report read', async () => {
  await withDir(async (dir) => {
    const script = join(dir, 'fake-scanner.sh')
    // reports the tar's content and the database's as the package and version, so the test sees both arrived
    await writeFile(script, '#!/bin/sh\n[ "$1" = "$MINGA_IMAGE_TAR" ] || exit 3\nprintf \'{"Results":[{"Vulnerabilities":[{"VulnerabilityID":"CVE-2024-0001","Severity":"CRITICAL","PkgName":"%s","InstalledVersion":"%s","FixedVersion":"9"}]}]}\' "$(cat "$1")" "$(cat "$MINGA_SCANNER_DB")"\n')
    await chmod(script, 0o755)
    const scanner = new CommandScanner({ saveTar, tmp: dir, path: '' })
    assert.is(await scanner.find(), undefined, 'no scanner on an empty PATH and no command')
    assert.is(await scanner.find(script), 'command')
    const report = await scanner.scan('sha256:abc', { command: script, db: db('db of monday') })
    assert.is(report.scanner, `command: ${script}`)
    assert.equal(report.findings, [{ id: 'CVE-2024-0001', severity: 'critical', package: 'tar of sha256:abc', installed: 'db of monday', fixed: '9' }])
  })
})

test('trivy, else grype, found on PATH, run offline with the mesh\'s database', async () => {
  await withDir(async (dir) => {
    const calls = join(dir, 'calls')
    await writeFile(join(dir, 'grype'), `#!/bin/sh\necho "grype $*" >> ${calls}\necho '{"matches":[]}'\n`)
    await chmod(join(dir, 'grype'), 0o755)
    const scanner = new CommandScanner({ saveTar, tmp: dir, path: dir })
    assert.is(await scanner.find(), 'grype')
    assert.equal((await scanner.scan('sha256:abc', { db: db('x') })).findings, [])
    const lines = (await readFile(calls, 'utf8')).trim().split('\n')
    assert.match(lines[0], /^grype db import .*\/db$/)
    assert.match(lines[1], /^grype docker-archive:.*\/image\.tar -o json -q$/)
    await writeFile(join(dir, 'trivy'), `#!/bin/sh\necho "trivy $*" >> ${calls}\necho '{"SchemaVersion":2}'\n`)
    await chmod(join(dir, 'trivy'), 0o755)
    assert.is(await scanner.find(), 'trivy', 'trivy first')
    assert.is((await scanner.scan('sha256:abc', {})).scanner, 'trivy')
    assert.match((await readFile(calls, 'utf8')).trim().split('\n')[2], /^trivy image --quiet --format json --input .*image\.tar$/)
  })
})

test('a command that fails, or runs too long, is a ScanError with its own words', async () => {
  await withDir(async (dir) => {
    const scanner = new CommandScanner({ saveTar, tmp: dir, timeoutMs: 500 })
    const failed = await scanner.scan('sha256:abc', { command: 'echo "database locked" >&2; exit 2' }).then(() => undefined, (err: Error) => err)
    assert.is(failed?.name, 'ScanError')
    assert.match(failed?.message ?? '', 'the org\'s scanner command exited with 2: database locked')
    const slow = await scanner.scan('sha256:abc', { command: 'sleep 30; cat "$1"' }).then(() => undefined, (err: Error) => err)
    assert.match(slow?.message ?? '', 'the org\'s scanner command was stopped: it ran too long')
  })
})

test.run()
