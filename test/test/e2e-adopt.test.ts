/**
 * End to end on real Docker engines: a node killed with kill -9 and started
 * again on its data dir, within its supervisor's grace, adopts the containers
 * it left running (same ids,
 * nothing recreated), and removes its orphans — containers labelled for it
 * and its mesh but for a service that no longer exists — while it never
 * touches containers of other nodes, other meshes, or without labels.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { withCluster, type DockerCluster } from '../src/docker-cluster.js'
import { dockerTests, LABELS } from '../src/docker-engines.js'
import { longRunning } from '../src/docker-specs.js'

const { engines: started, it } = await dockerTests(['e2e-a', 'e2e-b', 'e2e-c'])

// a node restarted within its supervisor's grace (3 s) adopts its containers; a loaded host may take longer to restart one, so the grace is stretched here
const RESTART_GRACE = { MINGA_TEST_MODE: '1', MINGA_TEST_SUPERVISOR_GRACE_MS: '300000' }

it('e2e: a restarted node adopts its running containers and removes only its own orphans', async () => {
  await withCluster(started, { orgs: ['acme', 'acme', 'riverside'], env: RESTART_GRACE }, async (cluster) => {
    await cluster.deploy(0, longRunning({ name: 'web', replicas: 3 }), ['--wait', '--timeout', '90s'])
    await cluster.waitFor('three healthy replicas, one per engine', async () => new Set((await cluster.serving('acme/web')).map(c => c.at)).size === 3)
    const node = 1
    const { engine, peerId } = cluster.nodes[node]
    const before = (await cluster.containers(node)).map(c => c.id).sort()
    assert.is(before.length, 1, 'the node runs one replica')

    await cluster.kill(node)
    const planted = await plant(cluster, node)
    try {
      await cluster.up(node)
      await cluster.waitFor('the restarted node reports its replica healthy', async () => {
        const ps: any[] = await cluster.api(node, '/v1/ps?service=acme/web')
        return ps.some(r => r.running.some((c: any) => c.node === peerId && c.healthy === true && c.containerId === before[0]))
      })
      await cluster.waitFor('the orphan is removed', async () => !await engine.api.exists(planted.orphan), 30_000)
      // three reconcile passes later: still the same container, and nothing else of ours was created
      const passes = await cluster.metric(node, 'minga_reconcile_runs_total')
      await cluster.waitFor('three more reconcile passes', async () => await cluster.metric(node, 'minga_reconcile_runs_total') >= passes + 3, 60_000)
      const after = (await cluster.containers(node)).filter(c => c.node === peerId)
      assert.equal(after.map(c => c.id).sort(), before, 'the same container, adopted, not recreated')
      assert.is(after[0].state, 'running')
      for (const [what, id] of Object.entries(planted.foreign)) {
        const there = (await engine.api.containers({ id: [id] }))[0]
        assert.is(there?.state, 'running', `${what} is left alone`)
      }

      // an orphan that appears while the node runs goes too
      const late = await engine.api.create(`minga-e2e-orphan-late-${cluster.meshId}`, orphanConfig(cluster.meshId, peerId, 'acme/retired'))
      await cluster.waitFor('an orphan created while the node runs is removed', async () => !await engine.api.exists(late), 30_000)
      assert.ok(await engine.api.exists(before[0]), 'the replica still runs')
    } finally {
      for (const id of Object.values(planted.foreign)) await engine.api.remove(id).catch(() => {})
    }
  })
})

function orphanConfig (meshId: string, nodeId: string, service: string): { Image: string, Cmd: string[], Labels: Record<string, string> } {
  return {
    Image: 'minga/busybox:1',
    Cmd: ['sleep', '600'],
    Labels: { [LABELS.mesh]: meshId, [LABELS.node]: nodeId, [LABELS.service]: service, [LABELS.replica]: '0', [LABELS.hash]: 'deadbeef00' }
  }
}

/** on the node's engine: one orphan of its own, and three containers that are not its to touch */
async function plant (cluster: DockerCluster, node: number): Promise<{ orphan: string, foreign: Record<string, string> }> {
  const { engine, peerId } = cluster.nodes[node]
  const other = cluster.nodes.find(n => n.index !== node)!.peerId
  const tag = cluster.meshId
  const orphan = await engine.api.create(`minga-e2e-orphan-${tag}`, orphanConfig(tag, peerId, 'acme/gone'))
  const foreign = {
    'a container labelled for another node': await engine.api.create(`minga-e2e-other-node-${tag}`, orphanConfig(tag, other, 'acme/gone')),
    'a container of another mesh': await engine.api.create(`minga-e2e-other-mesh-${tag}`, orphanConfig('0123456789abcdef', peerId, 'acme/gone')),
    'an unlabelled container': await engine.api.create(`minga-e2e-unlabelled-${tag}`, { Image: 'minga/busybox:1', Cmd: ['sleep', '600'] })
  }
  return { orphan, foreign }
}

test.run()
