/**
 * The failure detector's fast path, at the core level: when a peer's
 * connections close, the node dials it. A host that refuses the connection
 * has lost the process (kill -9, a crash): the peer is dead at once. A host
 * that does not answer (gone, or cut off) is only suspect until the
 * heartbeats or the confirmation window decide — here both are a minute
 * away, so only the probe can have declared anything dead.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { TestCluster, waitFor, type TestNode } from './core-cluster.js'

const SLOW = { downConfirm: 60_000, deadAfter: 60_000, suspectAfter: 1500 }

async function die (mesh: TestCluster, node: TestNode, options: { silent?: boolean } = {}): Promise<void> {
  node.mesh.down = true
  node.mesh.silent = options.silent === true
  mesh.net.regate()
  await node.core.stop()
}

test('a refused probe makes a peer dead at once; a silent host stays suspect', async () => {
  const mesh = await TestCluster.start(Array.from({ length: 3 }, () => ({ org: 'acme', timing: SLOW })))
  try {
    await mesh.settled()
    const [a, b, c] = mesh.nodes
    const id = (n: TestNode): string => n.identity.peerId

    await die(mesh, c)
    await waitFor(() => a.core.liveness.status(id(c)) === 'dead' && b.core.liveness.status(id(c)) === 'dead', 'the survivors declare the killed node dead (long before the 60 s detectors)', 30_000)
    const reasons = a.core.events.recent({ since: 0, limit: 1000 }).filter(e => e.kind === 'node-dead' && e.subject === id(c)).map(e => e.reason)
    assert.equal(reasons, ['connection closed and its address refuses connections'])

    await die(mesh, b, { silent: true })
    await waitFor(() => a.core.liveness.status(id(b)) === 'suspect', 'the vanished node is suspect')
    // once the probe has come back without an answer, the node is still only suspect
    await waitFor(() => a.mesh.probed.some(p => p.peer === id(b) && p.result === 'unknown'), 'a probed the vanished node')
    await new Promise(resolve => setImmediate(resolve))
    assert.is(a.core.liveness.status(id(b)), 'suspect', 'no answer is not proof of death')
  } finally {
    await mesh.stop()
  }
})

test.run()
