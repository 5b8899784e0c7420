/**
 * End to end on real Docker engines, watching every engine every ~200 ms:
 * a rolling update of the image tag (minga/busybox:1 → :2) replaces the
 * replicas one by one and never leaves fewer than `replicas -
 * maxUnavailable` healthy; `minga drain` moves a node's replicas away
 * make-before-break (never below the desired healthy count), and `minga
 * uncordon` lets the scheduler use the node again.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { withCluster } from '../src/docker-cluster.js'
import { dockerTests } from '../src/docker-engines.js'
import { Sampler, describe, servingReplicas, type Sample } from '../src/docker-samples.js'
import { longRunning } from '../src/docker-specs.js'

const { engines: started, it } = await dockerTests(['e2e-a', 'e2e-b', 'e2e-c'])
const REPLICAS = 3
const SERVICE = 'acme/web'

it('e2e: rolling update one by one, then drain and uncordon, never below the healthy floor', async () => {
  await withCluster(started, { orgs: ['acme', 'acme', 'riverside'] }, async (cluster) => {
    await cluster.deploy(0, longRunning({ name: 'web', replicas: REPLICAS, maxUnavailable: 1 }), ['--wait', '--timeout', '90s'])
    await cluster.waitFor('three healthy replicas of :1', async () => servingImage(await cluster.serving(SERVICE), 'minga/busybox:1') === REPLICAS)

    // rolling update: at least replicas - maxUnavailable = 2 healthy at every moment
    const rolling = new Sampler(cluster, SERVICE).start()
    await rolling.collected(3)
    await cluster.deploy(1, longRunning({ name: 'web', replicas: REPLICAS, maxUnavailable: 1, image: 'minga/busybox:2' }))
    await cluster.waitFor('every replica runs :2, healthy, and no :1 is left', async () => {
      const all = await cluster.everywhere(SERVICE)
      return servingImage(all.filter(c => c.state === 'running' && (c.health === 'healthy')), 'minga/busybox:2') === REPLICAS && all.every(c => c.image === 'minga/busybox:2')
    }, 120_000)
    await rolling.collected(rolling.samples.length + 5)
    const update = await rolling.stop()
    assertFloor(update, REPLICAS - 1, 'rolling update')
    const mixed = update.some(s => {
      const images = new Set(s.containers.filter(c => c.state === 'running' && c.health === 'healthy').map(c => c.image))
      return images.has('minga/busybox:1') && images.has('minga/busybox:2')
    })
    assert.ok(mixed, `one by one: some moment served both :1 and :2\n${describe(update)}`)
    const newHash = update[update.length - 1].containers[0].hash
    const replacedAt = [0, 1, 2].map(r => update.findIndex(s => s.containers.some(c => c.replica === r && c.hash === newHash)))
    assert.is(new Set(replacedAt).size, REPLICAS, `each replica got its new container at its own moment: ${replacedAt.join(',')}`)

    // drain: the node's replica moves away with no moment below 3 healthy
    const victim = (await cluster.serving(SERVICE))[0].at
    const peer = cluster.nodes[victim].peerId
    const other = cluster.nodes.find(n => n.index !== victim)!.index
    const draining = new Sampler(cluster, SERVICE).start()
    await draining.collected(3)
    // only the node's own organization drains it: the victim's own CLI does (another org's would be refused)
    const drained = await cluster.mustMinga(victim, ['drain', peer.slice(-8), '--timeout', '90s'])
    assert.match(drained.stdout, 'drained')
    await cluster.waitFor('three healthy replicas, none on the drained node', async () => {
      const serving = await cluster.serving(SERVICE)
      return servingReplicas({ t: 0, containers: serving }).size === REPLICAS && (await cluster.containers(victim, SERVICE)).length === 0
    })
    await draining.collected(draining.samples.length + 5)
    const drain = await draining.stop()
    assertFloor(drain, REPLICAS, 'drain')
    const nodes: any[] = JSON.parse((await cluster.mustMinga(other, ['nodes', '--json'])).stdout)
    assert.ok(nodes.find(n => n.id === peer)?.cordoned === true, 'the drained node is cordoned')

    // uncordon: the scheduler uses the node again (its replica comes back, make before break)
    const back = new Sampler(cluster, SERVICE).start()
    await cluster.mustMinga(victim, ['uncordon', peer.slice(-8)])
    await cluster.waitFor('the uncordoned node runs a healthy replica again', async () => (await cluster.serving(SERVICE)).some(c => c.at === victim), 60_000)
    await cluster.waitFor('three replicas, three containers', async () => (await cluster.everywhere(SERVICE)).filter(c => c.state === 'running').length === REPLICAS, 60_000)
    const uncordon = await back.stop()
    assertFloor(uncordon, REPLICAS, 'uncordon')
    const after: any[] = JSON.parse((await cluster.mustMinga(other, ['nodes', '--json'])).stdout)
    assert.is(after.find(n => n.id === peer)?.cordoned, false, 'the node is no longer cordoned')
  })
})

function servingImage (containers: Array<{ image: string, replica?: number }>, image: string): number {
  return new Set(containers.filter(c => c.image === image).map(c => c.replica)).size
}

function assertFloor (samples: Sample[], floor: number, what: string): void {
  assert.ok(samples.length >= 5, `${what}: only ${samples.length} samples`)
  const low = samples.find(s => servingReplicas(s).size < floor)
  assert.is(low, undefined, `${what}: a moment (t=${low?.t}ms) with fewer than ${floor} healthy replicas:\n${describe(samples)}`)
}

test.run()
