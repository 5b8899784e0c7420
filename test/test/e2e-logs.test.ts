/**
 * End to end on real Docker engines: `minga logs` gathers the lines of a
 * service's replicas from the nodes that run them, in time order and
 * labelled; after a node that runs one is killed (kill -9, its engine
 * stopped), `minga logs -f` goes on with the lines of the replacement on
 * another node, and no line comes twice.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { withCluster } from '../src/docker-cluster.js'
import { dockerTests } from '../src/docker-engines.js'
import { followMinga } from '../src/follow.js'

const { engines: started, it } = await dockerTests(['e2e-a', 'e2e-b', 'e2e-c'])

/** three known lines (one on stderr), then a tick every 0.3 s; stops at once on SIGTERM */
const SCRIPT = 'trap "exit 0" TERM; echo known-1; sleep 0.2; echo known-2 >&2; sleep 0.2; echo known-3; i=0; while true; do echo "tick $i"; i=$((i+1)); sleep 0.3 & wait $!; done'
const ECHO = [
  'name: echo',
  'image: minga/busybox:1',
  `command: ${JSON.stringify(['sh', '-c', SCRIPT])}`,
  'replicas: 2',
  'spread: node',
  'resources: { cpu: 50m, memory: 16Mi }',
  ''
].join('\n')

it('e2e: minga logs gathers two nodes\' replicas in time order; -f follows a replica to its new node after kill -9', async () => {
  await withCluster(started, { orgs: ['acme', 'acme', 'riverside'] }, async (cluster) => {
    await cluster.deploy(0, ECHO, ['--wait', '--timeout', '90s'])
    let running: any[] = []
    await cluster.waitFor('two replicas on two engines', async () => {
      running = (await cluster.serving('acme/echo'))
      return running.length === 2 && new Set(running.map(c => c.at)).size === 2
    })
    // read from the node that runs no replica, so the one killed later is not the reader
    const reader = cluster.nodes.find(n => !running.some(c => c.at === n.index))!
    const peerOf = (index: number): string => cluster.nodes[index].peerId

    let lines: any[] = []
    await cluster.waitFor('both replicas\' known lines', async () => {
      const run = await cluster.minga(reader, ['logs', 'acme/echo', '--json'])
      lines = run.stdout.split('\n').filter(Boolean).map(l => JSON.parse(l)).filter(i => i.type === 'line')
      return running.every(c => lines.filter(l => l.node === peerOf(c.at) && /^known/.test(l.text)).length === 3)
    })
    for (let i = 1; i < lines.length; i++) assert.ok(lines[i].time >= lines[i - 1].time, 'in time order')
    for (const c of running) {
      const own = lines.filter(l => l.node === peerOf(c.at) && l.replica === c.replica)
      assert.equal(own.slice(0, 3).map(l => l.text), ['known-1', 'known-2', 'known-3'], `replica ${c.replica} on node ${c.at}, labelled`)
      assert.is(own[1].stream, 'stderr')
      assert.ok(c.id.startsWith(own[0].container) || own[0].container.startsWith(c.id.slice(0, 12)), 'the container that printed it')
    }

    const follower = followMinga(reader.dataDir, 'logs', 'acme/echo', '-f', '--json')
    const items = follower.items
    try {
      const victim = running[0]
      await cluster.waitFor('ticks from both nodes', async () => running.every(c => items.some(i => i.type === 'line' && i.node === peerOf(c.at) && i.text.startsWith('tick'))))
      const killedAt = Date.now()
      await Promise.all([cluster.kill(victim.at), cluster.stopEngine(victim.at)])
      await cluster.waitFor('the moved replica\'s lines from its new node', async () => items.some(i =>
        i.type === 'line' && i.replica === victim.replica && i.node !== peerOf(victim.at) && i.text === 'known-1' && i.time > killedAt), 90_000)
      await cluster.waitFor('it goes on ticking', async () => items.filter(i => i.type === 'line' && i.replica === victim.replica && i.node !== peerOf(victim.at) && i.time > killedAt && i.text.startsWith('tick')).length >= 3)
      const followed = items.filter(i => i.type === 'line')
      const keys = followed.map(l => `${l.node} ${l.container} ${l.time} ${l.text}`)
      assert.is(new Set(keys).size, keys.length, 'no line twice')
      // the surviving container's lines, none lost across the failure (it may itself move afterwards, make
      // before break, when the placement over two nodes puts the moved replica on its node: then it stops)
      const survivor = running[1]
      const ticks = followed.filter(l => l.node === peerOf(survivor.at) && (survivor.id.startsWith(l.container) || l.container.startsWith(survivor.id.slice(0, 12))) && l.text.startsWith('tick')).map(l => Number(l.text.split(' ')[1]))
      assert.ok(ticks.length >= 2 && ticks.some(t => t > ticks[0]), `the surviving container ticked on: ${JSON.stringify(ticks)}`)
      assert.ok(ticks.every((t, i) => i === 0 || t === ticks[i - 1] + 1), `the surviving replica: every tick, in order, across the failure: ${JSON.stringify(ticks)}`)
    } finally {
      follower.stop()
    }
  })
})

test.run()
