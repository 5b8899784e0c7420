/**
 * Governance and secrets through the CLI, on real node processes: a secret
 * never shows in plain text (state on disk, logs, events, CLI output); an
 * organization is removed only by a strict majority of the others; the
 * audit trail lists every step, and its signatures verify offline.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { verifyEntry } from '@minga/protocol'
import { startCluster, waitFor, writeSpec, type Cluster } from '../src/index.js'

let mesh: Cluster
let scratch: string
const VALUE = `pw-${Math.random().toString(36).slice(2)}-${Date.now()}`

test.before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'minga-gov-'))
  mesh = await startCluster({ nodes: ['acme', 'beta', 'gamma'] })
})

test.after(async () => {
  await mesh?.stop()
  await rm(scratch, { recursive: true, force: true })
})

/** every byte under a directory, as latin1 text, to search for a plain value */
async function allBytes (dir: string): Promise<string> {
  let out = ''
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out += (await readFile(join(entry.parentPath ?? (entry as any).path, entry.name))).toString('latin1')
  }
  return out
}

test('a secret is sealed, listed by name only, and never in plain text on disk, in logs, events or output', async () => {
  const [n1, n2, n3] = mesh.nodes
  await mesh.cli(n1, 'deploy', '-f', await writeSpec(scratch, 'web'))
  const file = join(scratch, 'value.txt')
  await writeFile(file, VALUE)
  const set = await mesh.cli(n1, 'secret', 'set', 'web', 'DB_PASSWORD', '--file', file)
  assert.is(set.status, 0, set.stderr)
  assert.match(set.stdout, /acme\/web: secret DB_PASSWORD set, sealed to \d+ node\(s\)/)
  const foreign = await mesh.cli(n2, 'secret', 'set', 'acme/web', 'DB_PASSWORD', '--value', 'hijack')
  assert.is(foreign.status, 1)
  await waitFor(async () => (await mesh.json(n3, 'secret', 'ls')).some((s: any) => s.name === 'DB_PASSWORD'), { message: () => 'the secret did not reach n3' })
  const outputs = [set.stdout, set.stderr]
  for (const n of mesh.nodes) {
    for (const args of [['secret', 'ls'], ['secret', 'ls', '--json'], ['audit', '--json'], ['events', '--json'], ['ls', '--json']]) {
      const run = await mesh.cli(n, ...args)
      outputs.push(run.stdout, run.stderr)
    }
    outputs.push(n.log.join('\n'))
    assert.not.ok((await allBytes(n.dir)).includes(VALUE), `${n.name}'s data dir holds the plain value`)
  }
  assert.not.ok(outputs.join('\n').includes(VALUE), 'the plain value shows in CLI output, events or logs')
})

test('org rm: opened by one org, passed by a strict majority of the others, carried out on every node, audited', async () => {
  const [n1, n2, n3] = mesh.nodes
  await mesh.cli(n3, 'deploy', '-f', await writeSpec(scratch, 'db'))
  await waitFor(async () => (await mesh.json(n1, 'ls')).some((s: any) => s.id === 'gamma/db'), { message: () => 'gamma/db did not spread' })

  const opened = await mesh.json(n1, 'org', 'rm', 'gamma', '--reason', 'stopped paying its share')
  assert.equal(opened.proposal.electorate, ['acme', 'beta'])
  assert.is(opened.passed, false)
  const cantVote = await mesh.cli(n3, 'org', 'approve', opened.id.slice(0, 8))
  assert.is(cantVote.status, 1, 'the target votes on its own removal')
  await waitFor(async () => (await mesh.json(n2, 'org', 'proposals')).some((p: any) => p.id === opened.id), { message: () => 'the proposal did not reach n2' })
  const passed = await mesh.json(n2, 'org', 'approve', opened.id.slice(0, 8))
  assert.is(passed.passed, true)

  for (const viewer of [n1, n2]) {
    await waitFor(async () => (await mesh.nodesOf(viewer)).find((n: any) => n.id === n3.peerId)?.status === 'removed', { message: () => `${viewer.name} does not show gamma's node removed\n${mesh.logs(6)}` })
    await waitFor(async () => !(await mesh.json(viewer, 'ls')).some((s: any) => s.id === 'gamma/db'), { message: () => `${viewer.name} still lists gamma/db` })
  }
  await mesh.waitForSameDigest([n1, n2])

  const status = (await mesh.statuses([n1]))[0]
  const trail = await mesh.json(n1, 'audit')
  const kinds = (kind: string): any[] => trail.filter((r: any) => r.kind === kind)
  assert.ok(kinds('proposal').length === 1 && kinds('vote').length === 2)
  assert.ok(kinds('revoked').some((r: any) => r.key === `revoked/${n3.peerId}` && r.authorOrg !== 'gamma'))
  assert.ok(kinds('member').length === 3 && kinds('secret').length === 1)
  for (const record of trail) {
    assert.ok(record.verified, `${record.key} does not verify`)
    assert.ok(verifyEntry(status.meshId, record.entry), `${record.key} does not verify offline`)
  }
  const human = await mesh.cli(n1, 'audit')
  assert.match(human.stdout, /proposal to remove gamma .* PASSED/)
})

test.run()
