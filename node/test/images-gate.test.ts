/**
 * The scan gate of a deploy (issue 15), on a NodeCore over a virtual clock:
 * each image is pinned by digest; an org's policy refuses an image with a
 * blocked finding (nothing is written) unless the deploy waives it, and the
 * waiver is a signed entry; without a scanner the result says so, and a
 * policy that blocks refuses the unscanned image — never a silent pass.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { keys, type Finding } from '@minga/protocol'
import { MemoryChunkStore, MemoryImages, type NodeCoreInit } from '../src/core/index.js'
import { NO_SCANNER, blocks, judge } from '../src/core/images/gate.js'
import type { Scanner } from '../src/core/images/types.js'
import { RecordingRuntime, TestCluster, played, spec, MESH_ID } from './core-cluster.js'

const CRITICAL: Finding = { id: 'CVE-2024-0001', severity: 'critical', package: 'openssl', installed: '3.0.1', fixed: '3.0.2' }
const HIGH: Finding = { id: 'CVE-2024-0002', severity: 'high', package: 'zlib', installed: '1.2', fixed: undefined }

/** a scanner that reports `findings` for every image, and counts its scans */
function fakeScanner (findings: Finding[]): Scanner & { scans: number } {
  const scanner = {
    scans: 0,
    find: async () => 'command' as const,
    scan: async () => { scanner.scans++; return { scanner: 'fake 1.0', findings } }
  }
  return scanner
}

async function node (scanner?: Scanner): Promise<{ c: TestCluster, images: MemoryImages }> {
  const runtime = new RecordingRuntime({ meshId: MESH_ID, nodeId: 'acme', images: [] })
  const images = new MemoryImages(runtime.engine)
  const init: NodeCoreInit['images'] = { store: new MemoryChunkStore(), engine: images, scanner }
  const c = await TestCluster.start([{ org: 'acme', runtime, images: init }])
  await c.settled()
  return { c, images }
}

test('block levels: critical and high, fixable or not', () => {
  assert.ok(blocks('critical', CRITICAL))
  assert.not.ok(blocks('critical', HIGH))
  assert.ok(blocks('high', HIGH))
  assert.not.ok(blocks('high-fixable', HIGH), 'no fix yet: not blocked by a -fixable level')
  assert.ok(blocks('critical-fixable', CRITICAL))
  assert.not.ok(blocks('none', CRITICAL))
})

test('the gate refuses a database older than the policy allows, and an unscanned image when it blocks', () => {
  const scan = { scanner: 'fake', at: 0, counts: { critical: 0, high: 0, medium: 0, low: 0, unknown: 0 }, fixable: { critical: 0, high: 0, medium: 0, low: 0, unknown: 0 }, findings: [], db: { built: 0 } }
  const old = judge({ policy: { block: 'critical', maxDbAge: 86_400_000 }, scan, noScanner: false, waived: new Set(), now: 3 * 86_400_000 })
  assert.not.ok(old.pass)
  assert.match(!old.pass ? old.problems[0] : '', /database is 3\.0 days old; the policy allows 1\.0 days/)
  const none = judge({ policy: { block: 'critical' }, scan: undefined, noScanner: true, waived: new Set(), now: 0 })
  assert.not.ok(none.pass)
  assert.is(none.summary, NO_SCANNER)
  assert.ok(judge({ policy: undefined, scan: undefined, noScanner: true, waived: new Set(), now: 0 }).pass, 'no policy: nothing to refuse')
})

test('a deploy pins the digest; a blocked finding refuses it (nothing written) until a signed waiver accepts it', async () => {
  const scanner = fakeScanner([CRITICAL, HIGH])
  const { c, images } = await node(scanner)
  try {
    const n = c.nodes[0]
    const id = images.create('acme/web:1', [new Uint8Array(1000).fill(7)])
    await n.state.write(n.identity, keys.policy('acme'), { block: 'critical-fixable' })
    const refused = await played(n.core.operations.deploy([spec('acme', 'web', { image: 'acme/web:1' })])).then(() => undefined, (err: Error) => err)
    assert.instance(refused, Error)
    assert.match(refused!.message, /The scan gate of acme refuses acme\/web .*CVE-2024-0001 \(critical, openssl 3\.0\.1 → 3\.0\.2 fixes it\).*--waive ID/)
    assert.is(n.state.value(keys.service('acme', 'web')), undefined, 'nothing written')
    assert.ok(n.state.value(keys.scan('acme', id.slice(7))) !== undefined, 'the scan is recorded in the mesh')
    const results = await played(n.core.operations.deploy([spec('acme', 'web', { image: 'acme/web:1' })], { waive: ['CVE-2024-0001'], reason: 'patched in the proxy' }))
    assert.is(results[0].status, 'created')
    assert.is(results[0].image?.digest, id)
    assert.equal(results[0].image?.waived, ['CVE-2024-0001'])
    assert.is(n.state.value(keys.service('acme', 'web'))?.spec.imageDigest, id, 'pinned by digest in the signed entry')
    assert.equal(n.state.value(keys.waiver('acme', 'web', 'CVE-2024-0001')), { digest: id, reason: 'patched in the proxy' })
    assert.is(scanner.scans, 1, 'the recorded scan is used again, not rescanned')
    const audit = n.core.operations.audit({ kinds: ['waiver', 'policy'] })
    assert.equal(audit.map(r => [r.kind, r.verified]), [['policy', true], ['waiver', true]])
    assert.match(audit[1].summary, `acme waives CVE-2024-0001 in acme/web's image ${id.slice(0, 19)}: patched in the proxy`)
  } finally {
    await c.stop()
  }
})

test('minga apply pins and gates its images as a deploy does: the digest in the entry, a blocked finding refuses the whole set', async () => {
  const scanner = fakeScanner([CRITICAL])
  const { c, images } = await node(scanner)
  try {
    const n = c.nodes[0]
    const id = images.create('acme/web:1', [new Uint8Array(1000).fill(9)])
    const planned = await played(n.core.operations.apply({ specs: [spec('acme', 'web', { image: 'acme/web:1' })] }, { dryRun: true }))
    assert.ok(planned.changes[0].fields.some(f => f.path === 'imageDigest' && f.to === id), 'the plan shows the pinned digest')
    assert.is(n.state.value(keys.service('acme', 'web')), undefined, 'a dry run writes no service')
    await played(n.core.operations.apply({ specs: [spec('acme', 'web', { image: 'acme/web:1' })] }, { dryRun: false }))
    assert.is(n.state.value(keys.service('acme', 'web'))?.spec.imageDigest, id, 'pinned by digest')
    const again = await played(n.core.operations.apply({ specs: [spec('acme', 'web', { image: 'acme/web:1' })] }, { dryRun: true }))
    assert.is(again.changes[0].action, 'unchanged', 'the same tag and digest: nothing to change')
    await n.state.write(n.identity, keys.policy('acme'), { block: 'critical' })
    const refused = await played(n.core.operations.apply({ specs: [spec('acme', 'web', { image: 'acme/web:1', replicas: 2 }), spec('acme', 'api', { image: 'acme/web:1' })] }, { dryRun: false })).then(() => undefined, (err: Error) => err)
    assert.match(refused?.message ?? '', /The scan gate of acme refuses acme\/web .*CVE-2024-0001/)
    assert.is(n.state.value(keys.service('acme', 'api')), undefined, 'nothing of the set written')
    assert.is(n.state.value(keys.service('acme', 'web'))?.spec.replicas, 1)
  } finally {
    await c.stop()
  }
})

test('without a scanner the result says so; a policy that blocks refuses the unscanned image', async () => {
  const { c, images } = await node(undefined)
  try {
    const n = c.nodes[0]
    images.create('acme/web:1', [new Uint8Array(1000).fill(8)])
    const results = await played(n.core.operations.deploy([spec('acme', 'web', { image: 'acme/web:1' })]))
    assert.is(results[0].image?.scan, NO_SCANNER)
    await n.state.write(n.identity, keys.policy('acme'), { block: 'high' })
    const refused = await played(n.core.operations.deploy([spec('acme', 'api', { image: 'acme/web:1' })])).then(() => undefined, (err: Error) => err)
    assert.match(refused?.message ?? '', /not scanned: no scanner configured, and the policy blocks high findings/)
  } finally {
    await c.stop()
  }
})

test.run()
