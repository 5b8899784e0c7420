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
import { LOOP_COMMAND, longRunning } from '../src/docker-specs.js'

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
/** a README command's arguments after `minga`, as the shell splits them (double quotes group words) */
const args = (line: string): string[] => [...line.matchAll(/"([^"]*)"|(\S+)/g)].map(m => m[1] ?? m[2]).slice(1)

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

/** git in `dir`, as a user runs it (no global configuration needed) */
const git = async (dir: string, args: string[]): Promise<string> =>
  (await exec('git', ['-C', dir, '-c', 'user.name=dev', '-c', 'user.email=dev@acme.test', ...args], { timeout: 60_000 })).stdout.trim()

/** a commit whose image carries `version`; its test (/app/test.sh) fails when the version is empty */
async function commitVersion (repo: string, version: string): Promise<string> {
  await writeFile(join(repo, 'version'), version)
  await git(repo, ['add', '-A'])
  await git(repo, ['commit', '-q', '-m', `version ${version || '(none)'}`])
  return await git(repo, ['rev-parse', 'HEAD'])
}

const buildReadme = blockWith(examples, 'minga build .').lines.map(l => l.replace(/\s+#\s.*$/, '').trim()).filter(l => l.startsWith('minga '))

it('e2e: from git to a deployed service: build --test, deploy on three nodes, a failing test stops the path, a new commit rolls the service', async () => {
  const [build, deploy, ls, logs] = buildReadme
  assert.equal([build, ls, logs], ['build', 'build ls', 'build logs'].map(v => examples.verbs.get(v)), 'the verb table shows the same commands')
  const tag = 'acme/web:2'
  const repo = await mkdtemp(join(tmpdir(), 'minga-git-'))
  try {
    await git(repo, ['init', '-q'])
    await writeFile(join(repo, 'Dockerfile'), 'FROM minga/busybox:1\nLABEL minga.test-build=1\nCOPY . /app/\n')
    await writeFile(join(repo, 'test.sh'), 'echo "testing version $(cat /app/version)"\ntest ! -e /app/notes.txt || { echo ".dockerignore was not applied"; exit 2; }\ntest -s /app/version\n')
    await writeFile(join(repo, '.dockerignore'), 'notes.txt\n')
    await writeFile(join(repo, 'notes.txt'), 'not for the image\n')
    // content no earlier run had: Docker's build cache ignores times, so the same files would make the same image id
    await writeFile(join(repo, 'stamp'), `${Date.now()} ${Math.random()}\n`)
    const first = await commitVersion(repo, '1\n')
    // node 0 offers builds: it builds its own requests here, and those of nodes 1 and 2 (rendezvous among acme's builders)
    await withCluster(started, { orgs: ['acme', 'acme', 'acme'], upArgs: [['--builder'], [], []] }, async (cluster) => {
      const run = (line: string, extra: string[] = []): string[] => [...args(line).map(a => a === '.' ? repo : a), ...extra]
      const built = JSON.parse((await cluster.mustMinga(0, run(build, ['--json']))).stdout)
      assert.is(built.status, 'passed')
      assert.is(built.commit, first, 'the ref resolved to the commit built')
      assert.is(built.testExit, 0)
      assert.is(built.by, cluster.nodes[0].peerId)
      const digest: string = built.digest
      for (const engine of started.slice(1)) assert.not.ok(await hasImage(engine, digest), `${engine.name} never had the image`)

      // bad input: refused at once, nothing recorded or pushed
      const plain = await mkdtemp(join(tmpdir(), 'minga-plain-'))
      const notRepo = await cluster.minga(0, ['build', plain, '--tag', tag])
      await rm(plain, { recursive: true, force: true })
      assert.is(notRepo.code, 2, notRepo.stderr)
      assert.match(notRepo.stderr, `${plain} is not in a git repository; minga builds commits`)
      const unknownRef = await cluster.minga(0, ['build', repo, '--ref', 'v9', '--tag', tag])
      assert.is(unknownRef.code, 2, unknownRef.stderr)
      assert.match(unknownRef.stderr, `${repo} has no commit v9`)
      const noFile = await cluster.minga(0, ['build', repo, '--file', 'Containerfile', '--tag', tag])
      assert.is(noFile.code, 1, noFile.stderr)
      assert.match(noFile.stderr, 'has no Containerfile in the top of the repository')
      assert.is((await cluster.api(0, '/v1/builds')).length, 2, 'the passed build and the one without its Dockerfile')

      const web = await specFile(cluster.dir, 'web', longRunning({ name: 'web', replicas: 3, image: tag }))
      const deployed = await cluster.mustMinga(0, [...args(deploy).map(a => a === 'web.yaml' ? web : a), '--timeout', '100s'])
      assert.match(deployed.stdout, `${tag} pinned to ${digest.slice(0, 19)}`)
      const running = async (id: string): Promise<string[]> => {
        const containers = await cluster.serving('acme/web')
        const images = await Promise.all(containers.map(async c => await docker(started[c.at], ['inspect', '--format', '{{.Image}}', c.id])))
        return containers.filter((_, i) => images[i] === id).map(c => String(c.at))
      }
      // deploy --wait returns on minga's own first probes; Docker's status says healthy up to one interval later
      await cluster.waitFor('a healthy replica of the built image on each node', async () => (await running(digest)).sort().join() === '0,1,2')

      // a commit whose test fails, built from node 1: node 0 builds it; nothing is pushed, and the test's output is in the log on any node
      const broken = await commitVersion(repo, '')
      const failed = await cluster.minga(1, run(build))
      assert.is(failed.code, 1, failed.stderr)
      assert.match(failed.stderr, /Build [0-9a-f]{16} of acme\/web:2 failed: The test "sh \/app\/test\.sh" exited with code 1; nothing was pushed/)
      const failedId = /minga build logs ([0-9a-f]{16})/.exec(failed.stderr)![1]
      const log = (await cluster.mustMinga(2, args(logs.replace(/[0-9a-f]{16}/, failedId)))).stdout
      assert.match(log, `= commit ${broken}`)
      assert.match(log, 'testing version \n')
      assert.match(log, '# the test exited with code 1')
      const listed: any[] = JSON.parse((await cluster.mustMinga(2, [...args(ls), '--json'])).stdout)
      const row = listed.find(b => b.id === failedId)
      assert.equal([row?.status, row?.testExit, row?.by], ['failed', 1, cluster.nodes[0].peerId], 'the builder ran it and recorded the failure')
      assert.match((await cluster.mustMinga(2, args(ls))).stdout, new RegExp(`${failedId}\\s+failed\\s+${tag}\\s+${broken.slice(0, 12)}`))
      const images: any[] = JSON.parse((await cluster.mustMinga(1, ['image', 'ls', '--json'])).stdout)
      assert.is(images.filter(i => i.tags.includes(tag)).length, 1, 'the failed build pushed nothing')

      // a fix: rebuilt (again from node 1), deployed again: the service rolls to the new digest
      const fixed = await commitVersion(repo, '3\n')
      const rebuilt = JSON.parse((await cluster.mustMinga(1, run(build, ['--json']))).stdout)
      assert.equal([rebuilt.status, rebuilt.commit], ['passed', fixed])
      assert.is.not(rebuilt.digest, digest)
      const before = (await cluster.serving('acme/web')).map(c => c.id)
      const redeployed = await cluster.mustMinga(1, ['deploy', '-f', web, '--wait', '--timeout', '100s'])
      assert.match(redeployed.stdout, `${tag} pinned to ${rebuilt.digest.slice(0, 19)}`)
      await cluster.waitFor('every replica runs the new digest', async () => (await running(rebuilt.digest)).length === 3)
      assert.is((await cluster.serving('acme/web')).filter(c => before.includes(c.id)).length, 0, 'each replica was replaced')
      // a Compose file with build: (context relative to the file): built (by the builder, asked from node 2), then deployed pinned to the build
      const compose = join(repo, 'compose.yaml')
      await writeFile(compose, `services:\n  api:\n    build: { context: ., dockerfile: Dockerfile }\n    command: ${JSON.stringify(LOOP_COMMAND).replaceAll('$', '$$$$')}\n`)
      const composed = await cluster.mustMinga(2, ['deploy', '-f', compose, '-p', 'shop', '--wait', '--timeout', '100s'])
      const composeBuild = /build ([0-9a-f]{16}) passed: acme\/shop-api:latest = (sha256:[0-9a-f]{64}) \(commit ([0-9a-f]{12})/.exec(composed.stdout)
      assert.ok(composeBuild !== null, composed.stdout)
      assert.is(composeBuild[3], fixed.slice(0, 12))
      assert.match(composed.stdout, `acme/shop-api: created (acme/shop-api:latest pinned to ${composeBuild[2].slice(0, 19)}`)
      assert.is((await cluster.api(1, '/v1/services/acme/shop-api')).spec.imageDigest, composeBuild[2])

      const events: any[] = await cluster.api(0, '/v1/events')
      assert.ok(events.some(e => e.kind === 'build' && e.reason.includes(`built ${tag}`)), events.filter(e => e.kind === 'build').map(e => e.reason).join('\n'))
    })
  } finally {
    await rm(repo, { recursive: true, force: true })
    for (const engine of started) {
      const ids = (await docker(engine, ['images', '-q', '--no-trunc', '--filter', 'label=minga.test-build']).catch(() => '')).split('\n').filter(Boolean)
      if (ids.length > 0) await docker(engine, ['rmi', '-f', ...ids]).catch(() => '')
    }
  }
})

async function specFile (dir: string, name: string, text: string): Promise<string> {
  const file = join(dir, `${name}-${Date.now()}.yaml`)
  await writeFile(file, text)
  return file
}

test.run()
