/**
 * End to end on real Docker engines: a service whose image no engine has
 * and no registry serves is a clear per-replica problem in `minga ps` on
 * the node that should run it and, through its report, on every other; that node keeps running, retries with a
 * growing back-off instead of spinning, and the rest of the mesh — another
 * service, the other nodes — goes on unaffected.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { withCluster } from '../src/docker-cluster.js'
import { dockerTests } from '../src/docker-engines.js'
import { Sampler, describe, servingReplicas } from '../src/docker-samples.js'
import { longRunning } from '../src/docker-specs.js'

const { engines: started, it } = await dockerTests(['e2e-a', 'e2e-b', 'e2e-c'])
// .invalid never resolves: the pull fails at once, with or without a network
const MISSING = 'registry.invalid/minga/missing:1'

it('e2e: a missing image is a clear problem in minga ps, retried with back-off, and nothing else suffers', async () => {
  await withCluster(started, { orgs: ['acme', 'acme', 'riverside'] }, async (cluster) => {
    await cluster.deploy(0, longRunning({ name: 'web', replicas: 2 }), ['--wait', '--timeout', '90s'])
    const web = new Sampler(cluster, 'acme/web').start()
    await cluster.deploy(0, longRunning({ name: 'ghost', replicas: 1, image: MISSING }))
    const since = Date.now()

    let owner = -1
    await cluster.waitFor('the ghost replica is placed', async () => {
      const ps: any[] = await cluster.api(0, '/v1/ps?service=acme/ghost')
      owner = cluster.nodes.findIndex(n => n.peerId === ps[0]?.assigned)
      return owner >= 0
    })
    await cluster.waitFor('minga ps on its node names the missing image', async () => {
      const out = (await cluster.mustMinga(owner, ['ps', 'acme/ghost'])).stdout
      return out.includes(`Image ${MISSING} is not on this node and could not be pulled`)
    })
    // the owner's report, asked for by ps: any node's minga ps shows it, naming the node
    const other = (owner + 1) % cluster.nodes.length
    await cluster.waitFor('minga ps on another node shows it too', async () => {
      const out = (await cluster.mustMinga(other, ['ps', 'acme/ghost'])).stdout
      return out.includes(`reports: Image ${MISSING} is not on this node and could not be pulled`) && out.includes(cluster.nodes[owner].peerId.slice(-8))
    })
    const rows: any[] = JSON.parse((await cluster.mustMinga(owner, ['ps', 'acme/ghost', '--json'])).stdout)
    assert.match(rows[0].problem, 'load it with "docker load" or push it to a registry the node can reach')
    assert.equal(rows[0].running, [], 'nothing runs for it')

    // no spin: the attempts come a back-off of 1, 2, 4 s apart, or later on a busy machine, never sooner
    const attempts = async (): Promise<number[]> => (await cluster.api(owner, `/v1/events?since=${since}`) as any[])
      .filter(e => e.kind === 'replica-error' && e.subject === 'acme/ghost#0').map(e => e.time)
    await cluster.waitFor('four attempts', async () => (await attempts()).length >= 4, 120_000)
    const times = await attempts()
    const gaps = times.slice(1, 4).map((t, i) => t - times[i])
    assert.ok(gaps[0] >= 990 && gaps[1] >= 1990 && gaps[2] >= 3990, `attempts ${gaps.join(', ')} ms apart`)

    // the node and the mesh are fine
    const status = await cluster.api(owner, '/v1/status')
    assert.is(status.nodes.alive, 3, 'every node stays alive')
    assert.ok(cluster.nodes[owner].process !== undefined, 'the node process still runs')
    assert.is((await cluster.everywhere('acme/ghost')).length, 0, 'no container was left behind for the ghost')
    const samples = await web.stop()
    const low = samples.find(s => servingReplicas(s).size < 2)
    assert.is(low, undefined, `the other service kept both replicas healthy throughout:\n${describe(samples)}`)
    const ls: any[] = JSON.parse((await cluster.mustMinga(0, ['ls', '--json'])).stdout)
    assert.is(ls.find(s => s.id === 'acme/web')?.healthy, 2)
    assert.is(ls.find(s => s.id === 'acme/ghost')?.healthy, 0)
  })
})

test.run()
