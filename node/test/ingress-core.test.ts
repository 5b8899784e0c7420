/**
 * The routing mesh in the core, on the virtual clock: a deploy that would
 * take a published port or a web host name from another service is refused
 * with what to do (a redeploy is not), and every node's route view sees the
 * healthy replicas of the whole mesh — its own containers and its peers'
 * reports — and wakes its waiters when they change.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { parseServiceSpec } from '@minga/protocol'
import { TestCluster, waitFor } from './core-cluster.js'

const spec = (text: string, org: string): ReturnType<typeof parseServiceSpec> => parseServiceSpec(`image: minga/busybox:1\ncommand: ["sleep", "3600"]\n${text}`, { org })

test('a published port or a host name belongs to one service of the mesh: a deploy that would take one is refused and changes nothing', async () => {
  const mesh = await TestCluster.start(['acme', 'riverside'])
  try {
    await mesh.settled()
    const [acme, riverside] = mesh.nodes.map(n => n.core.operations)
    await acme.deploy(spec('name: web\nports: ["8080:80"]\nhttp: { host: web.example.org, port: 80 }\n', 'acme'))
    await waitFor(() => mesh.nodes.every(n => n.state.digest() === mesh.nodes[0].state.digest()), 'every node holds acme/web')
    const digest = mesh.nodes[1].state.digest()
    const taken = await riverside.deploy(spec('name: api\nports: ["8080:3000"]\n', 'riverside')).then(() => undefined, (err: Error) => err)
    assert.is(taken?.name, 'ConflictError')
    assert.is(taken?.message, 'riverside/api wants port 8080/tcp, which acme/web already has on this mesh; choose another port, or remove acme/web first')
    const host = await riverside.deploy(spec('name: site\nhttp: { host: Web.Example.org, tlsPort: 443 }\n', 'riverside')).then(() => undefined, (err: Error) => err)
    assert.match(host?.message ?? '', 'riverside/site wants host web.example.org, which acme/web already has on this mesh; choose another host name')
    const shared = await riverside.deploy(spec('name: squat\nports: ["80:80"]\n', 'riverside')).then(() => undefined, (err: Error) => err)
    assert.match(shared?.message ?? '', 'riverside/squat wants port 80/tcp (the shared web port), which acme/web already has')
    // a change set (minga apply, a git source) is held to the same rule
    const applied = await riverside.apply({ specs: spec('name: api\nports: ["8080:3000"]\n', 'riverside') }, { dryRun: false }).then(() => undefined, (err: Error) => err)
    assert.is(applied?.message, 'riverside/api wants port 8080/tcp, which acme/web already has on this mesh; choose another port, or remove acme/web first')
    assert.is(mesh.nodes[1].state.digest(), digest, 'nothing was written')
    // the holder redeploys and scales freely; a mode-host port or another address is another port
    await acme.deploy(spec('name: web\nreplicas: 3\nports: ["8080:80"]\nhttp: { host: web.example.org, port: 80 }\n', 'acme'))
    await riverside.deploy(spec('name: local\nports: [{ container: 80, host: 8081, mode: host }]\n', 'riverside'))
  } finally {
    await mesh.stop()
  }
})

test('the route view: healthy replicas here and on peers, with addresses of local ones; a change wakes its waiters', async () => {
  const mesh = await TestCluster.start(['acme', 'acme', 'riverside'])
  try {
    await mesh.settled()
    const [a] = mesh.nodes
    const waiting = a.core.routes.changed(AbortSignal.timeout(600_000))
    await a.core.operations.deploy(spec('name: web\nreplicas: 3\nspread: node\nports: ["8080:80"]\n', 'acme'))
    await waiting
    const everywhere = await waitFor(() => mesh.nodes.every(n => n.core.routes.healthy('acme/web').length === 3) ? true : undefined, 'every node sees three healthy replicas')
    assert.ok(everywhere)
    const seen = a.core.routes.healthy('acme/web')
    assert.equal(new Set(seen.map(r => r.node)).size, 3, 'one per node (spread: node)')
    const own = seen.find(r => r.node === a.identity.peerId)!
    const local = a.core.routes.local('acme/web')
    assert.equal(local.map(r => r.replica), [own.replica])
    assert.match(local[0].address, /^198\.1[89]\./, 'the memory runtime\'s modelled address')
    assert.is(a.core.routes.containerAt(local[0].address), 'acme/web')
    for (const r of seen) assert.ok(a.core.routes.runsOn('acme/web', r.node))
    assert.equal(a.core.routes.services().map(s => s.id), ['acme/web'])
    // a node dies: its replica leaves every view once the failure detector says so
    const victim = mesh.nodes[2]
    victim.mesh.down = true
    await victim.core.stop()
    await waitFor(() => !a.core.routes.healthy('acme/web').some(r => r.node === victim.identity.peerId), 'the dead node\'s replica is gone from the view')
  } finally {
    await mesh.stop()
  }
})

test('the route view on a node concerned with none of a service (it hears no replica records): the assigned live node is offered, and the node itself serves only healthy replicas', async () => {
  const mesh = await TestCluster.start(['acme', 'acme', 'riverside'])
  try {
    await mesh.settled()
    const [a] = mesh.nodes
    await a.core.operations.deploy(spec('name: db\nreplicas: 1\nports: ["5432:5432"]\n', 'acme'))
    const holder = await waitFor(() => mesh.nodes.find(n => n.core.routes.local('acme/db').length === 1), 'db runs healthy somewhere')
    const others = mesh.nodes.filter(n => n !== holder)
    for (const other of others) {
      const seen = await waitFor(() => other.core.routes.healthy('acme/db').length === 1 ? other.core.routes.healthy('acme/db') : undefined, 'a node that does not run db still finds it')
      assert.equal(seen.map(r => r.node), [holder.identity.peerId])
      assert.equal(other.core.routes.local('acme/db'), [], 'it has no copy of its own to offer')
    }
  } finally {
    await mesh.stop()
  }
})

test.run()
