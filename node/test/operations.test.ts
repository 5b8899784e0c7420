/** Operations at the core level: how a bare service name is found across organizations */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { parseServiceSpec } from '@minga/protocol'
import { TestCluster, waitFor, played } from './core-cluster.js'

test('a bare NAME is this org\'s service, else the one service of that name in any org; several are an error; none is not found', async () => {
  const mesh = await TestCluster.start(['acme', 'riverside', 'hilltop'])
  try {
    await mesh.settled()
    const [acme, riverside, hilltop] = mesh.nodes.map(n => n.core.operations)
    await acme.deploy(parseServiceSpec('name: web\nimage: minga/busybox:1\n', { org: 'acme' }))
    await waitFor(() => mesh.nodes.every(n => n.state.digest() === mesh.nodes[0].state.digest()), 'every node holds acme/web')
    assert.equal(hilltop.findService('web'), ['acme', 'web'], 'unique in the mesh: found in another org')
    assert.is((await played(hilltop.ps('web'))).length, 1)
    assert.is(hilltop.serviceRecord('web').spec.org, 'acme')
    await riverside.deploy(parseServiceSpec('name: web\nimage: minga/busybox:1\n', { org: 'riverside' }))
    await waitFor(() => mesh.nodes.every(n => n.state.digest() === mesh.nodes[0].state.digest()), 'every node holds riverside/web')
    assert.equal(acme.findService('web'), ['acme', 'web'], 'this org\'s own comes first')
    assert.equal(riverside.findService('web'), ['riverside', 'web'])
    const refusal = async (ref: string): Promise<Error | undefined> => await played(hilltop.ps(ref)).then(() => undefined, (err: Error) => err)
    const ambiguous = await refusal('web')
    assert.ok(ambiguous?.name === 'BadRequestError' && /2 organizations have a service web \(acme, riverside\); name one as ORG\/web/.test(ambiguous.message), String(ambiguous))
    const missing = await refusal('nosuch')
    assert.ok(missing?.name === 'NotFoundError' && /No service nosuch in the mesh/.test(missing.message), String(missing))
    assert.is((await refusal('acme/nosuch'))?.name, 'NotFoundError')
    assert.is((await played(hilltop.ps())).length, 2, 'ps of everything')
    // nodes are drained by their own organization, and the refusal says where to run it
    const acmeNode = mesh.nodes[0].identity.peerId
    const refused = await hilltop.cordon(acmeNode.slice(-8), 'patching').then(() => undefined, (err: Error) => err)
    assert.is(refused?.name, 'ForbiddenError')
    assert.is(refused?.message, `Node ${acmeNode.slice(-8)} belongs to acme; only its members drain or cordon it (run this on a node of acme)`)
  } finally {
    await mesh.stop()
  }
})

test.run()
