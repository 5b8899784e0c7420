/**
 * Secrets at the core level: sealed to exactly the nodes that may run the
 * service, re-sealed as that set changes, handed to containers as
 * environment, and never in plain text in the state or the events.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { keys } from '@minga/protocol'
import { TestCluster, spec, waitFor, pause } from './core-cluster.js'

const VALUE = 'hunter2-' + Math.random().toString(36).slice(2)

test('a secret reaches the replicas as environment, sealed only to the nodes that may run the service', async () => {
  const mesh = await TestCluster.start([
    { org: 'acme', labels: { disk: 'ssd' } },
    { org: 'acme' },
    { org: 'beta', labels: { disk: 'ssd' }, acceptOrgs: ['acme', 'beta'] },
    { org: 'gamma', labels: { disk: 'ssd' }, acceptOrgs: ['gamma'] },
    { org: 'delta', labels: { disk: 'ssd' }, shareForOthers: 0 }
  ])
  try {
    const [a1, a2, b1, g1, d1] = mesh.nodes
    const id = (n: typeof a1): string => n.identity.peerId
    await waitFor(() => mesh.nodes.every(n => mesh.nodes.every(m => n.state.value(`node/${id(m)}`) !== undefined)), 'node records everywhere')

    // before the service exists: its owners only
    try {
      await b1.core.secrets.set('acme', 'web', 'DB_PASSWORD', new TextEncoder().encode(VALUE))
      assert.unreachable('beta set an acme secret')
    } catch (err: any) {
      assert.is(err.name, 'ForbiddenError')
    }
    const set = await a2.core.secrets.set('acme', 'web', 'DB_PASSWORD', new TextEncoder().encode(VALUE))
    assert.is(set.readers, 2)

    await a1.core.operations.deploy([spec('acme', 'web', { replicas: 2, constraints: { disk: 'ssd' } })])
    // the owners re-seal to the nodes that may run it: acme's, and beta's (ssd, accepts acme); not gamma (refuses acme), not delta (shares nothing)
    const readers = [id(a1), id(a2), id(b1)].sort()
    assert.equal(a1.core.secrets.readers('acme', 'web'), readers)
    await waitFor(() => mesh.nodes.every(n => n.core.secrets.list('acme', 'web')[0]?.readers === 3 && n.core.secrets.list('acme', 'web')[0]?.current), 're-sealed to 3 nodes, seen everywhere')

    // the replicas run with the value as environment, wherever they run (a replica that started before
    // the secret reached its node is rolled, as the secret's version is part of the desired hash)
    const latest = (n: typeof a1): any => n.runtime.started.filter(r => r.service === 'acme/web').at(-1)
    await waitFor(() => [a1, b1].every(n => latest(n)?.secretEnv?.DB_PASSWORD === VALUE), 'replicas on a1 and b1 run with the secret')
    for (const n of [a1, b1]) assert.not.ok(JSON.stringify(latest(n).spec).includes(VALUE), 'the value is not in the spec (labels, hash)')

    // a new value rolls the replicas onto it; re-sealing alone does not
    const NEW = VALUE + '-rotated'
    await a1.core.secrets.set('acme', 'web', 'DB_PASSWORD', new TextEncoder().encode(NEW))
    await waitFor(() => [a1, b1].every(n => latest(n)?.secretEnv?.DB_PASSWORD === NEW), 'replicas restarted with the new value')
    for (const n of [g1, d1]) {
      assert.throws(() => n.core.secrets.inputsFor(spec('acme', 'web')), (err: Error) => err.name === 'SecretUnavailableError')
    }
    // no plain text in any node's state or events; ls shows names only
    for (const n of mesh.nodes) {
      for (const value of [VALUE, NEW]) {
        assert.not.ok(JSON.stringify([...n.state.all()]).includes(value), 'no plain value in the state')
        assert.not.ok(JSON.stringify(n.core.events.recent()).includes(value), 'no plain value in the events')
        assert.not.ok(JSON.stringify(n.core.secrets.list()).includes(value))
      }
    }

    // beta's node leaves: the secret is sealed again without it, under a new data key
    await b1.core.trust.removeNode(id(b1), 'retired')
    await waitFor(() => a1.state.revoked(id(b1)) !== undefined, 'b1 removed')
    await waitFor(() => a1.core.secrets.list('acme', 'web')[0]?.readers === 2, 're-sealed without b1')
    const record = a1.state.value(keys.secret('acme', 'web', 'DB_PASSWORD'))!
    assert.equal(Object.keys(record.sealed.keys).sort(), [id(a1), id(a2)].sort())
    const starts = a1.runtime.started.length
    await pause(700)
    assert.ok(a1.runtime.started.slice(starts).every(r => r.service !== 'acme/web' || r.secretEnv?.DB_PASSWORD === NEW), 're-sealing does not change what replicas get')
  } finally {
    await mesh.stop()
  }
})

test.run()
