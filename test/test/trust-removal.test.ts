/**
 * Removing a node for real, through the CLI: every node refuses it from
 * then on, its invites stop working, and it cannot come back — not by
 * restarting on its data dir, not by joining again with a fresh invite.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sleep, startCluster, waitFor, writeSpec, type Cluster } from '../src/index.js'

let mesh: Cluster
let specs: string

test.before(async () => {
  specs = await mkdtemp(join(tmpdir(), 'minga-trust-'))
  mesh = await startCluster({ nodes: ['acme', 'acme', 'beta'] })
})

test.after(async () => {
  await mesh?.stop()
  await rm(specs, { recursive: true, force: true })
})

test('minga node rm: refused everywhere, its invites dead, and it cannot come back', async () => {
  const [n1, n2, n3] = mesh.nodes
  const theirInvite = await mesh.invite(n2, '--uses', '3')
  // a server that died is retired: it does not hear of its own removal
  await mesh.kill9(n2)

  // another org cannot remove it; its own org can, by its short id (never by a 4-character guess)
  const foreign = await mesh.cli(n3, 'node', 'rm', n2.peerId.slice(-8))
  assert.is(foreign.status, 1, foreign.stderr)
  assert.match(foreign.stderr, /Only members of acme remove its nodes/, foreign.stderr)
  const tooShort = await mesh.cli(n1, 'node', 'rm', '12D3')
  assert.is(tooShort.status, 2, tooShort.stderr)
  const removed = await mesh.cli(n1, 'node', 'rm', n2.peerId.slice(-8), '--reason', 'disk died')
  assert.is(removed.status, 0, removed.stderr)
  assert.match(removed.stdout, /removed; its entries up to #\d+ stand, 1 open invite\(s\) revoked/)
  await waitFor(async () => (await mesh.nodesOf(n3)).find((n: any) => n.id === n2.peerId)?.status === 'removed', { message: () => `n3 does not show n2 removed\n${mesh.logs(5)}` })

  // its invite no longer admits anyone
  const refusedJoin = await mesh.cli(mesh.newNode('acme'), 'join', theirInvite)
  assert.is(refusedJoin.status, 1, refusedJoin.stderr)
  assert.match(refusedJoin.stderr, /revoked/)

  // restarted on its data dir, it reaches nobody: it gets nothing new, and nobody takes what it writes
  await mesh.up(n2)
  await mesh.cli(n1, 'deploy', '-f', await writeSpec(specs, 'after-removal'))
  await mesh.cli(n2, 'deploy', '-f', await writeSpec(specs, 'from-removed'))
  await waitFor(async () => (await mesh.json(n3, 'ls')).some((s: any) => s.id === 'acme/after-removal'), { message: () => 'n3 never got the new service' })
  await sleep(3000)
  assert.not.ok((await mesh.json(n2, 'ls')).some((s: any) => s.id === 'acme/after-removal'), 'the removed node got new state')
  for (const n of [n1, n3]) assert.not.ok((await mesh.json(n, 'ls')).some((s: any) => s.id === 'acme/from-removed'), `${n.name} took a write of the removed node`)
  assert.is((await mesh.nodesOf(n1)).find((n: any) => n.id === n2.peerId)?.status, 'removed')
  // nobody answers its probes (their gaters refuse it), though their ports accept: it declares them dead after the stall allowance
  await waitFor(async () => (await mesh.statuses([n2]))[0].nodes.alive <= 1, { message: () => 'the removed node still sees others alive' })

  // a fresh invite on the same identity is refused too
  await mesh.kill9(n2)
  const rejoin = await mesh.cli(n2, 'join', await mesh.invite(n1))
  assert.is(rejoin.status, 1, rejoin.stderr)
  assert.match(rejoin.stderr, /removed from the mesh/)

  // a node that knows it was removed (here: it removed itself) refuses to start, and says why
  const self = await mesh.cli(n3, 'node', 'rm', n3.peerId, '--reason', 'leaving')
  assert.is(self.status, 0, self.stderr)
  await mesh.kill9(n3)
  try {
    await mesh.up(n3)
    assert.unreachable('a removed node started')
  } catch (err: any) {
    assert.match(err.message, /This node was removed from the mesh \(leaving\)/)
  }
})

test.run()
