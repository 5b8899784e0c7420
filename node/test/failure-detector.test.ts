/**
 * Failure detection at the core level, over the in-process mesh: when a
 * peer's connections close, the node dials it. A host that refuses the
 * connection has lost the process (kill -9, a crash): the peer is dead at
 * once, with no suspicion on the way. A host that does not answer (gone,
 * or cut off) is only suspect until the suspicion times out unrefuted.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { TestCluster, waitFor, type TestNode } from './core-cluster.js'

async function die (mesh: TestCluster, node: TestNode, options: { silent?: boolean } = {}): Promise<void> {
  node.mesh.down = true
  node.mesh.silent = options.silent === true
  mesh.net.regate()
  await node.core.stop()
}

test('a refused dial makes a peer dead at once; a silent host is suspect first, then dead when the suspicion runs out', async () => {
  const mesh = await TestCluster.start(Array.from({ length: 4 }, () => 'acme'))
  try {
    await mesh.settled()
    const [a, b, c, d] = mesh.nodes
    const id = (n: TestNode): string => n.identity.peerId
    const reasons = (subject: TestNode, kind: string): string[] => a.core.events.recent({ since: 0, limit: 1000 }).filter(e => e.kind === kind && e.subject === id(subject)).map(e => e.reason)

    const killedAt = mesh.clock.now()
    await die(mesh, d)
    await waitFor(() => [a, b, c].every(n => n.core.liveness.status(id(d)) === 'dead'), 'the survivors declare the killed node dead')
    assert.ok(mesh.clock.now() - killedAt < 1000, `dead after ${mesh.clock.now() - killedAt} ms`)
    assert.equal(reasons(d, 'node-dead'), ['connection closed and its address refuses connections'])
    assert.equal(reasons(d, 'node-suspect'), [], 'the refusal is proof: no suspicion on the way')

    const vanishedAt = mesh.clock.now()
    await die(mesh, c, { silent: true })
    await waitFor(() => a.core.liveness.status(id(c)) === 'suspect', 'the vanished node is suspect')
    await waitFor(() => [a, b].every(n => n.core.liveness.status(id(c)) === 'dead'), 'and dead once the suspicion runs out')
    assert.ok(mesh.clock.now() - vanishedAt < 6000, `dead after ${mesh.clock.now() - vanishedAt} ms`)
    assert.match(reasons(c, 'node-dead')[0], /without refuting it|declared dead by/)
  } finally {
    await mesh.stop()
  }
})

test.run()
