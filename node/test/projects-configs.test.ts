/**
 * What a Compose file deploys, at the core level: services of one project
 * never replace another project's, config files reach the containers of
 * every node that runs them (their content in chunk entries), secrets can
 * be files under /run/secrets, and a project is removed as one.
 */
import { createHash } from 'node:crypto'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { CONFIG_CHUNK_BYTES, keys, type ConfigFileSpec } from '@minga/protocol'
import { TestCluster, spec, waitFor } from './core-cluster.js'

const sha = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex')

/** a config file's spec and its chunks as base64, as the CLI sends them */
function configFile (path: string, content: Buffer): { file: ConfigFileSpec, chunks: string[] } {
  const parts: Buffer[] = []
  for (let i = 0; i < content.length; i += CONFIG_CHUNK_BYTES) parts.push(content.subarray(i, i + CONFIG_CHUNK_BYTES))
  return { file: { path, size: content.length, chunks: parts.map(sha), mode: 0o444 }, chunks: parts.map(p => p.toString('base64')) }
}

async function rejection (promise: Promise<unknown>): Promise<Error> {
  try { await promise } catch (err) { return err as Error }
  throw new Error('did not reject')
}

test('a service of one project never replaces another project\'s, nor one deployed without a project; nothing is written', async () => {
  const mesh = await TestCluster.start(['acme'])
  try {
    const ops = mesh.nodes[0].core.operations
    await ops.deploy([spec('acme', 'db', { project: 'nextcloud', volumes: [{ name: 'db-data', path: '/var/lib/postgresql/data', readOnly: false }] })])
    const before = mesh.nodes[0].state.digest()
    const other = await rejection(ops.deploy([spec('acme', 'web', { project: 'wordpress' }), spec('acme', 'db', { project: 'wordpress' })]))
    assert.is(other.name, 'ConflictError')
    assert.match(other.message, 'acme/db belongs to project nextcloud; project wordpress would replace it')
    assert.match(other.message, 'minga rm -p nextcloud')
    const none = await rejection(ops.deploy([spec('acme', 'db')]))
    assert.match(none.message, 'deploy it from that project\'s Compose file')
    assert.is(mesh.nodes[0].state.digest(), before, 'nothing was written, not even the first service')
    await ops.deploy([spec('acme', 'plain')])
    assert.match((await rejection(ops.deploy([spec('acme', 'plain', { project: 'x' })]))).message, 'was deployed without a project')
    // the same project deploys again as it likes
    assert.equal(await ops.deploy([spec('acme', 'db', { project: 'nextcloud', replicas: 0 })]), [{ service: 'acme/db', status: 'updated' }])
  } finally {
    await mesh.stop()
  }
})

test('config files and secret files reach the containers on every node that runs the service', async () => {
  const mesh = await TestCluster.start(Array.from({ length: 3 }, () => 'acme'))
  try {
    await mesh.settled()
    const ops = mesh.nodes[0].core.operations
    // a file of several chunks, and a small one
    const big = Buffer.alloc(CONFIG_CHUNK_BYTES * 2 + 100, 'x')
    const conf = configFile('/etc/prometheus/prometheus.yml', Buffer.from('global:\n  scrape_interval: 15s\n'))
    const blob = configFile('/srv/blob', big)
    const web = spec('acme', 'prom', { replicas: 3, spread: 'node', configs: [conf.file, blob.file], secretFiles: [{ secret: 'db_password', path: '/run/secrets/db_password', mode: 0o444 }] })

    const missing = await rejection(ops.deploy([web]))
    assert.is(missing.name, 'BadRequestError')
    assert.match(missing.message, 'config files is not on this node (3 chunk(s) missing)')
    assert.is(mesh.nodes[0].state.value(keys.service('acme', 'prom')), undefined)

    await mesh.nodes[0].core.secrets.set('acme', 'prom', 'db_password', Buffer.from('hunter2'))
    await mesh.nodes[0].core.secrets.set('acme', 'prom', 'API_TOKEN', Buffer.from('t0ken'))
    const stored = await ops.storeConfigs('prom', [...conf.chunks, ...blob.chunks])
    assert.is(stored.written, 3, 'two chunks of the blob are equal: stored once')
    assert.is((await ops.storeConfigs('prom', conf.chunks)).written, 0, 'stored once')
    await ops.deploy([web])

    const started = (n: typeof mesh.nodes[0]): any => n.runtime.started.find(r => r.service === 'acme/prom')
    await waitFor(() => mesh.nodes.every(started), 'a replica on every node')
    for (const n of mesh.nodes) {
      const files = new Map<string, any>(started(n).files.map((f: any) => [f.path, f]))
      assert.is(Buffer.from(files.get('/etc/prometheus/prometheus.yml').content).toString(), 'global:\n  scrape_interval: 15s\n')
      assert.ok(Buffer.from(files.get('/srv/blob').content).equals(big), 'the chunks in order')
      assert.is(Buffer.from(files.get('/run/secrets/db_password').content).toString(), 'hunter2')
      // a secret file is not also an environment variable; the others still are
      assert.equal(started(n).secretEnv, { API_TOKEN: 't0ken' })
    }
    const container = mesh.nodes[1].runtime.engine.all().find(c => c.replica.service === 'acme/prom')!
    assert.ok(container.files.has('/run/secrets/db_password'))
  } finally {
    await mesh.stop()
  }
})

test('a secret file whose secret is not set is a clear problem of that replica, retried until it is set', async () => {
  const mesh = await TestCluster.start(['acme'])
  try {
    const ops = mesh.nodes[0].core.operations
    await ops.deploy([spec('acme', 'db', { secretFiles: [{ secret: 'db_password', path: '/run/secrets/db_password', mode: 0o444 }] })])
    await waitFor(() => mesh.nodes[0].core.reconciler.problemReport().some(p => p.error.includes('Secret db_password of acme/db is not set; set it with "minga secret set acme/db db_password"')), 'the problem is reported')
    await mesh.nodes[0].core.secrets.set('acme', 'db', 'db_password', Buffer.from('pw'))
    await waitFor(() => mesh.nodes[0].runtime.started.some(r => r.service === 'acme/db'), 'started once the secret is set', 20_000)
  } finally {
    await mesh.stop()
  }
})

test('chunks no spec needs are dropped on the next deploy and on removal; a project is removed as one; an unchanged secret is not written again', async () => {
  const mesh = await TestCluster.start(['acme'])
  try {
    const ops = mesh.nodes[0].core.operations
    const state = mesh.nodes[0].state
    const chunksHeld = (): number => state.list('config/acme/prom/').length
    const version = async (text: string): Promise<void> => {
      const c = configFile('/etc/p.yml', Buffer.from(text))
      await ops.storeConfigs('prom', c.chunks)
      await ops.deploy([spec('acme', 'prom', { project: 'mon', configs: [c.file] })])
    }
    await version('one')
    await version('two')
    assert.is(chunksHeld(), 2, 'the replaced spec\'s chunk stays while its replicas may still start')
    await version('three')
    assert.is(chunksHeld(), 2, 'the one before that is gone')
    await ops.deploy([spec('acme', 'grafana', { project: 'mon' }), spec('acme', 'other', { project: 'shop' })])
    assert.equal(await ops.removeProject('mon'), ['acme/grafana', 'acme/prom'])
    assert.is(chunksHeld(), 0)
    assert.ok(state.value(keys.service('acme', 'other')) !== undefined, 'another project stays')
    assert.is((await rejection(ops.removeProject('mon'))).name, 'NotFoundError')

    const secrets = mesh.nodes[0].core.secrets
    await secrets.set('acme', 'other', 'pw', Buffer.from('a'))
    const digest = state.digest()
    assert.ok((await secrets.set('acme', 'other', 'pw', Buffer.from('a'), { ifChanged: true })).unchanged)
    assert.is(state.digest(), digest)
    assert.not.ok((await secrets.set('acme', 'other', 'pw', Buffer.from('b'), { ifChanged: true })).unchanged)
  } finally {
    await mesh.stop()
  }
})

test('chunk entries are checked like any entry: content that does not match its key is refused', async () => {
  const mesh = await TestCluster.start(['acme'])
  try {
    const node = mesh.nodes[0]
    const wrong = await rejection(node.state.write(node.identity, keys.config('acme', 'web', sha(Buffer.from('a'))), { data: Buffer.from('b').toString('base64') }))
    assert.match(wrong.message, 'config data does not match the digest in its key')
    const bad = await rejection(node.core.operations.storeConfigs('web', ['not base64!']))
    assert.is(bad.name, 'BadRequestError')
  } finally {
    await mesh.stop()
  }
})

test.run()
