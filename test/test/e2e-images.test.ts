/**
 * End to end on real Docker engines, with no registry at all (issue 15): an
 * image built on one node's engine is pushed into the mesh (`minga image
 * push`) and deployed pinned by digest on three nodes, two of which never
 * had it: they fetch it from the mesh, load it, and run it healthy. The
 * README's image commands run as written. Without a scanner, every result
 * says "not scanned: no scanner configured", and an org's scan gate then
 * refuses the deploy. With the org's scanner command (a script that reports
 * a fixable critical finding) and its database pushed on one node, another
 * node fetches the database over the mesh and scans: a database older than
 * the policy allows is refused, the finding blocks the deploy, a signed
 * waiver lets it pass and shows in \`minga audit\`. A tag no node has is refused at deploy with a message
 * that says what to do.
 */
import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { blockWith, readmeExamples } from '../src/index.js'
import { withCluster } from '../src/docker-cluster.js'
import { dockerTests, type Engine } from '../src/docker-engines.js'
import { longRunning } from '../src/docker-specs.js'

const exec = promisify(execFile)
const { engines: started, it } = await dockerTests(['e2e-a', 'e2e-b', 'e2e-c'])

const docker = async (engine: Engine, args: string[]): Promise<string> =>
  (await exec('docker', ['-H', `unix://${engine.socket}`, ...args], { timeout: 120_000 })).stdout.trim()

/** builds `tag` on the engine, FROM the test image with a file no other build has; its image id */
async function buildUnique (engine: Engine, tag: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'minga-image-'))
  try {
    await writeFile(join(dir, 'stamp'), `${Date.now()} ${Math.random()}\n`)
    await writeFile(join(dir, 'Dockerfile'), 'FROM minga/busybox:1\nCOPY stamp /etc/stamp\n')
    await docker(engine, ['build', '--network', 'none', '-q', '-t', tag, dir])
    return await docker(engine, ['image', 'inspect', '--format', '{{.Id}}', tag])
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

const hasImage = async (engine: Engine, id: string): Promise<boolean> => await docker(engine, ['image', 'inspect', id]).then(() => true, () => false)

const examples = readmeExamples()
/** the README's image commands, as written (e2e-images runs them; readme.test.ts counts them as run elsewhere) */
const readme = blockWith(examples, 'minga image push').lines.map(l => l.replace(/\s+#\s.*$/, '').trim()).filter(l => l.startsWith('minga '))
const args = (line: string): string[] => line.split(/\s+/).slice(1)

it('e2e: an image pushed on one node runs on three, pinned by digest, with no registry', async () => {
  const tag = 'acme/web:2'
  const [push, ls, deploy, scan, policy] = readme
  assert.equal([push, ls, scan, policy], ['image push', 'image ls', 'image scan', 'policy set'].map(v => examples.verbs.get(v)), 'the verb table shows the same commands')
  assert.match(deploy, /^minga deploy -f web\.yaml --wait$/)
  for (const engine of started.slice(1)) await docker(engine, ['rmi', '-f', tag]).catch(() => '')
  const id = await buildUnique(started[0], tag)
  for (const engine of started.slice(1)) assert.not.ok(await hasImage(engine, id), `${engine.name} does not have the image`)
  await withCluster(started, { orgs: ['acme', 'acme', 'acme'] }, async (cluster) => {
    const pushed = await cluster.mustMinga(0, args(push))
    assert.match(pushed.stdout, `${tag}: ${id}`)
    await cluster.waitFor('every node lists the image', async () => {
      for (const i of [0, 1, 2]) {
        const images: any[] = JSON.parse((await cluster.mustMinga(i, [...args(ls), '--json'])).stdout)
        if (!images.some(x => x.digest === id && x.tags.includes(tag))) return false
      }
      return true
    })
    assert.match((await cluster.mustMinga(1, args(ls))).stdout, new RegExp(`acme\\s+${tag}\\s+${id.slice(0, 19)}\\s+\\S+\\s+\\w{8} `))
    const web = await specFile(cluster.dir, 'web', longRunning({ name: 'web', replicas: 3, image: tag }))
    const deployed = await cluster.mustMinga(0, [...args(deploy).map(a => a === 'web.yaml' ? web : a), '--timeout', '100s'])
    assert.match(deployed.stdout, `acme/web: created (${tag} pinned to ${id.slice(0, 19)}; not scanned: no scanner configured)`)
    const service = await cluster.api(1, '/v1/services/acme/web')
    assert.is(service.spec.imageDigest, id, 'the signed service entry names the digest')
    for (const engine of started) assert.ok(await hasImage(engine, id), `${engine.name} holds the image`)
    const containers = await cluster.everywhere('acme/web')
    assert.is(new Set(containers.map(c => c.at)).size, 3, 'a replica on each node')
    for (const c of containers) assert.is(await docker(started[c.at], ['inspect', '--format', '{{.Image}}', c.id]), id, 'each runs the pinned bytes')
    const events: any[] = await cluster.api(1, '/v1/events')
    assert.ok(events.some(e => e.kind === 'image' && e.reason.includes('fetched')), events.filter(e => e.kind === 'image').map(e => e.reason).join('\n'))

    // no scanner here: a scan says so and records nothing; a gate that blocks then refuses the unscanned image
    assert.match((await cluster.mustMinga(0, args(scan))).stdout, `${tag} (${id.slice(0, 19)}): not scanned: no scanner configured`)
    assert.match((await cluster.mustMinga(0, args(policy))).stdout, 'acme\'s deploys now refuse images with critical-fixable findings')
    const gated = await cluster.minga(1, ['deploy', '-f', await specFile(cluster.dir, 'api', longRunning({ name: 'api', replicas: 1, image: tag }))])
    assert.is.not(gated.code, 0)
    assert.match(gated.stderr, `The scan gate of acme refuses acme/api (${tag}, ${id.slice(0, 19)}): not scanned: no scanner configured, and the policy blocks critical-fixable findings`)
    assert.is((await cluster.api(0, '/v1/services')).some((s: any) => s.id === 'acme/api'), false, 'nothing declared')

    // the org's scanner, run by the daemon: a script given the image's docker save tar and the database from the mesh
    const fake = join(cluster.dir, 'fake-scanner.sh')
    await writeFile(fake, FAKE_SCANNER)
    const db = join(cluster.dir, 'scanner.db')
    await writeFile(db, 'fake vulnerability db\n')
    await cluster.mustMinga(0, ['policy', 'set', '--block', 'critical-fixable', '--max-db-age', '7d', '--scanner', `sh ${fake}`])
    // node 0 is given the database; node 1 scans with it, fetched over the mesh
    await cluster.mustMinga(0, ['scanner-db', 'push', db, '--built', new Date(Date.now() - 10 * 86_400_000).toISOString(), '--scanner', 'command'])
    const api = await specFile(cluster.dir, 'api', longRunning({ name: 'api', replicas: 1, image: tag }))
    let aged = ''
    await cluster.waitFor('node 1 scans with the old database from the mesh', async () => {
      aged = (await cluster.minga(1, ['deploy', '-f', api])).stderr
      return aged.includes('the scanner\'s database is 10 days old; the policy allows 7.0 days')
    }).catch((err: Error) => { throw new Error(`${err.message}; the deploy said: ${aged}`) })
    await cluster.mustMinga(0, ['scanner-db', 'push', db, '--built', new Date().toISOString(), '--scanner', 'command'])
    let blocked = ''
    await cluster.waitFor('node 1 scans with the new database and refuses the critical finding', async () => {
      blocked = (await cluster.minga(1, ['deploy', '-f', api])).stderr
      return blocked.includes('CVE-2099-0001')
    })
    assert.match(blocked, `The scan gate of acme refuses acme/api (${tag}, ${id.slice(0, 19)}): CVE-2099-0001 (critical, openssl 1.1.1 → 1.1.1w fixes it)`)
    assert.is((await cluster.api(0, '/v1/services')).some((s: any) => s.id === 'acme/api'), false, 'nothing declared')
    const waived = await cluster.mustMinga(1, ['deploy', '-f', api, '--waive', 'CVE-2099-0001', '--reason', 'not reachable: no TLS in this service'])
    assert.match(waived.stdout, 'acme/api: created')
    assert.match(waived.stdout, '1 critical (1 fixable) (command: sh ')
    const audit = (await cluster.mustMinga(0, ['audit'])).stdout
    assert.match(audit, `acme waives CVE-2099-0001 in acme/api's image ${id.slice(0, 19)}: not reachable: no TLS in this service`)
    assert.match(audit, `acme's scan gate blocks critical-fixable findings, database at most 168 h old, scanned by "sh ${fake}"`)
    // the README's scanner-db example, its file here
    const readmeDb = examples.verbs.get('scanner-db push')!
    await writeFile(join(cluster.dir, 'trivy-db.tar.gz'), 'a trivy database\n')
    assert.match((await cluster.mustMinga(2, args(readmeDb).map(a => a === './trivy-db.tar.gz' ? join(cluster.dir, 'trivy-db.tar.gz') : a))).stdout, 'acme\'s trivy database of 2026-11-29T06:00Z (17B) is in the mesh')
    const outdated = await cluster.mustMinga(0, ['image', 'ls', '--outdated'])
    assert.match(outdated.stdout, 'Every service runs the digest its tag names')
    const scanned: any[] = JSON.parse((await cluster.mustMinga(2, ['image', 'ls', '--json'])).stdout)
    assert.match(scanned.find(i => i.digest === id).scan, '1 critical (1 fixable)', 'the scan is in the mesh for every node')

    // a tag that no node, no engine and no registry has: refused at once, nothing declared
    const refused = await cluster.minga(0, ['deploy', '-f', await specFile(cluster.dir, 'ghost', longRunning({ name: 'ghost', replicas: 1, image: 'registry.invalid/acme/ghost:1' }))])
    assert.is.not(refused.code, 0)
    assert.match(refused.stderr, 'is not in the mesh (no tag of acme names it), not on this node\'s engine, and could not be pulled')
    assert.match(refused.stderr, 'minga image push')
  })
  for (const engine of started) await docker(engine, ['rmi', '-f', id]).catch(() => '')
})

/** a scanner command: checks that it got a docker save tar and the org's database, and reports one fixable critical finding in Trivy's JSON */
const FAKE_SCANNER = `#!/bin/sh
tar -tf "$1" | grep -q manifest.json || { echo "not a docker save tar: $1" >&2; exit 3; }
grep -q "fake vulnerability db" "$MINGA_SCANNER_DB" || { echo "no database from the mesh" >&2; exit 4; }
echo '{"SchemaVersion":2,"Results":[{"Target":"image","Vulnerabilities":[{"VulnerabilityID":"CVE-2099-0001","PkgName":"openssl","InstalledVersion":"1.1.1","FixedVersion":"1.1.1w","Severity":"CRITICAL"}]}]}'
`

async function specFile (dir: string, name: string, text: string): Promise<string> {
  const file = join(dir, `${name}-${Date.now()}.yaml`)
  await writeFile(file, text)
  return file
}

test.run()
