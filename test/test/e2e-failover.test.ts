/**
 * End to end on real Docker engines: three `minga up` processes, each on its
 * own engine, joined by invite. A service with two replicas spread over
 * nodes really runs twice; when a node that runs one is killed (kill -9)
 * and its engine stopped, the survivors run two healthy replicas again, and
 * no more than two once things settle. The replica moves to its warm
 * standby: the survivor starts the container it created beforehand. With a
 * 30 s health-check interval each replica is healthy long before Docker's
 * first check, because minga runs the first probes itself.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { isStandby, withCluster } from '../src/docker-cluster.js'
import { dockerTests } from '../src/docker-engines.js'
import { servingReplicas, Sampler, describe } from '../src/docker-samples.js'
import { longRunning } from '../src/docker-specs.js'

const { engines: started, it } = await dockerTests(['e2e-a', 'e2e-b', 'e2e-c'])

it('e2e: two replicas run on two engines, and run again on the survivors after kill -9 of a node and its engine, from a warm standby', async () => {
  await withCluster(started, { orgs: ['acme', 'acme', 'riverside'] }, async (cluster) => {
    await cluster.deploy(0, longRunning({ name: 'web', replicas: 2, healthInterval: '30s' }), ['--wait', '--timeout', '90s'])
    await cluster.waitFor('two healthy replicas', async () => servingReplicasNow(await cluster.serving('acme/web')) === 2)
    const before = await cluster.everywhere('acme/web')
    assert.is(before.filter(c => c.state === 'running').length, 2, `exactly two containers run: ${JSON.stringify(before.map(c => [c.at, c.replica, c.state, c.health]))}`)
    const hosts = new Set(before.filter(c => c.state === 'running').map(c => c.at))
    assert.is(hosts.size, 2, 'spread: node puts the replicas on two engines')
    // each replica healthy before Docker's first check (30 s after its start): minga probed it itself
    const events: any[] = (await Promise.all(cluster.nodes.map(async n => await cluster.api(n.index, '/v1/events')))).flat()
    for (const r of [0, 1]) {
      const at = (kind: string): number | undefined => events.find(e => e.kind === kind && e.subject === `acme/web#${r}`)?.time
      const startAt = at('replica-start')
      const healthyAt = at('replica-healthy')
      assert.ok(startAt !== undefined && healthyAt !== undefined && healthyAt - startAt < 30_000, `replica ${r} healthy ${(healthyAt ?? NaN) - (startAt ?? NaN)} ms after its start`)
    }
    const running = before.filter(c => c.state === 'running')
    const victim = running[0].at
    const lost = running[0].replica
    const survivor = cluster.nodes.find(n => n.index !== victim)!.index
    let warm: { id: string, at: number } | undefined
    await cluster.waitFor(`a warm standby of web#${String(lost)} on a survivor`, async () => {
      warm = (await cluster.everywhere('acme/web', { standbys: true })).find(c => c.at !== victim && c.replica === lost && isStandby(c))
      return warm !== undefined
    })

    await Promise.all([cluster.kill(victim), cluster.stopEngine(victim)])
    await cluster.waitFor('two healthy replicas on the survivors', async () => servingReplicasNow(await cluster.serving('acme/web')) === 2, 60_000)
    const moved = await cluster.serving('acme/web')
    assert.ok(moved.every(c => c.at !== victim), 'nothing runs on the dead node')
    assert.ok(moved.some(c => c.id === warm!.id && c.at === warm!.at), `web#${String(lost)} runs in its standby container, started, not created: ${JSON.stringify(moved.map(c => [c.at, c.replica, c.id.slice(0, 12)]))}, standby ${warm!.id.slice(0, 12)}`)

    // convergence: the mesh agrees, and extra copies (if any) are gone
    await cluster.waitFor('minga ls shows 2/2 healthy', async () => {
      const ls = JSON.parse((await cluster.mustMinga(survivor, ['ls', '--json'])).stdout)
      return ls.find((s: any) => s.id === 'acme/web')?.healthy === 2
    })
    // the copies that served while the replicas moved stop once the new ones serve; then it stays so
    await cluster.waitFor('at most two copies run', async () => (await cluster.everywhere('acme/web')).filter(c => c.state === 'running').length <= 2)
    const sampler = new Sampler(cluster, 'acme/web').start()
    await sampler.collected(20)
    const samples = await sampler.stop()
    for (const s of samples) {
      const running = s.containers.filter(c => c.state === 'running')
      assert.ok(running.length <= 2, `at most two run after convergence:\n${describe(samples)}`)
      assert.is(servingReplicas(s).size, 2, `both replicas stay healthy:\n${describe(samples)}`)
    }
    const ps = JSON.parse((await cluster.mustMinga(survivor, ['ps', 'web', '--json'])).stdout)
    const deadPeer = cluster.nodes[victim].peerId
    assert.ok(ps.every((r: any) => r.assigned !== null && r.assigned !== deadPeer), 'both replicas are assigned to live nodes')
  })
})

function servingReplicasNow (containers: Array<{ replica?: number }>): number {
  return new Set(containers.map(c => c.replica)).size
}

test.run()
