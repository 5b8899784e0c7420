/**
 * The reconcile loop of one node over the in-memory runtime, in real time,
 * with a stand-in for membership (this node alone, what it tells the nodes
 * concerned recorded): what
 * the end-to-end tests on Docker showed it must do.
 */
import { generateIdentity, keys, MemoryPersistence, parseServiceSpec, State, type Identity } from '@minga/protocol'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { DEFAULT_TIMING, EventLog, MemoryRuntime, nodeLogger, Reconciler, systemClock, type ReconcilerComponents, type Runtime, type RuntimeEvent } from '../src/core/index.js'
import { SlowStopRuntime } from './core-cluster.js'

const MESH = 'reconciler-test'

/** what the reconciler told membership this node runs, each time it did */
type Told = Array<{ replicas: Array<{ service: string, replica: number, hash: string, healthy: boolean }> }>

interface Rig { identity: Identity, state: State, runtime: Runtime, reconciler: Reconciler, told: Told, events: EventLog, deploy: (yaml: string) => Promise<void> }

async function rig (runtime: (nodeId: string) => Runtime, timing: Partial<typeof DEFAULT_TIMING> = {}, pending: (service: string) => boolean = () => false): Promise<Rig> {
  const identity = await generateIdentity()
  const state = await State.open({ meshId: MESH, root: identity.peerId, persistence: new MemoryPersistence(), now: Date.now })
  await state.write(identity, keys.mesh(), { id: MESH, root: identity.peerId, created: Date.now() })
  await state.write(identity, keys.member(identity.peerId), { org: 'acme' })
  await state.write(identity, keys.org('acme'), { name: 'acme' })
  await state.write(identity, keys.node(identity.peerId), { labels: {}, addrs: [], capacity: { cpu: 4000, memory: 8 * 1024 ** 3 } })
  const told: Told = []
  const events = new EventLog()
  const rt = runtime(identity.peerId)
  // this node alone; what it runs is recorded as membership would send it to the nodes concerned
  const liveness: ReconcilerComponents['liveness'] = {
    live: () => [identity.peerId],
    status: () => 'alive',
    // the live set never changes here: the key changes with the state only
    liveKey: () => state.digest(),
    confirmed: () => 1,
    diedAt: () => undefined,
    booting: () => false,
    reportsFor: () => new Map(),
    onChange: () => () => {},
    pending,
    update: (replicas) => { told.push({ replicas: [...replicas] }) },
    refresh: () => {}
  }
  const reconciler = new Reconciler({ identity, state, liveness, runtime: rt, clock: systemClock, timing: { ...DEFAULT_TIMING, reconcileDebounce: 10, ...timing }, events, logger: nodeLogger(identity.peerId) })
  const deploy = async (yaml: string): Promise<void> => {
    const [spec] = parseServiceSpec(yaml, { org: 'acme' })
    const existing = state.value(keys.service('acme', spec.name))
    await state.write(identity, keys.service('acme', spec.name), { spec, created: existing?.created ?? state.clock.tick() })
  }
  return { identity, state, runtime: rt, reconciler, told, events, deploy }
}

const sleep = async (ms: number): Promise<void> => await new Promise(resolve => setTimeout(resolve, ms))

/** waits for a condition; the limit only says when to give up (a loaded machine is slow) */
async function until (what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await check()) return
    await sleep(20)
  }
  throw new Error(`timed out waiting for ${what}`)
}

test('a deploy shows in desired() and the assignment at once, before any pass (deploy --wait relies on it)', async () => {
  const r = await rig(node => new MemoryRuntime({ meshId: MESH, nodeId: node }))
  await r.deploy('name: web\nimage: minga/busybox:1\nreplicas: 2\n')
  assert.equal(r.reconciler.desired().map(s => s.id), ['acme/web'])
  assert.equal(r.reconciler.currentAssignment().services['acme/web'], [r.identity.peerId, r.identity.peerId])
  assert.is(r.reconciler.stats.runs, 0)
})

test('a missing image backs off 1 s, 2 s, … and is retried when the back-off ends, not only at the periodic pass', async () => {
  const r = await rig(node => new MemoryRuntime({ meshId: MESH, nodeId: node, images: [], registry: [] }), { reconcileInterval: 60_000 })
  await r.deploy('name: ghost\nimage: registry.invalid/ghost:1\nreplicas: 1\n')
  await r.reconciler.start()
  try {
    // three attempts long before the periodic pass (60 s): retried when the back-off ends
    const attempts = (): number[] => r.events.recent().filter(e => e.kind === 'replica-error').map(e => e.time)
    await until('three attempts', () => attempts().length >= 3, 50_000)
    // and never sooner than the back-off: 1 s, then 2 s (timers fire late on a busy machine, never early)
    const [first, second, third] = attempts()
    assert.ok(second - first >= 990, `second attempt ${second - first} ms after the first`)
    assert.ok(third - second >= 1990, `third attempt ${third - second} ms after the second`)
    const [problem] = r.reconciler.replicaProblems()
    assert.is(problem.service, 'acme/ghost')
    assert.match(problem.error, 'Image registry.invalid/ghost:1 is not on this node')
  } finally {
    await r.reconciler.stop()
  }
})

test('a replica that takes long to stop holds up neither the loop nor the start of another replica', async () => {
  let runtime!: SlowStopRuntime
  const r = await rig(node => (runtime = new SlowStopRuntime({ meshId: MESH, nodeId: node })), { reconcileInterval: 60_000 })
  await r.deploy('name: old\nimage: minga/busybox:1\nreplicas: 1\n')
  await r.reconciler.start()
  try {
    await until('old runs', async () => (await runtime.list()).some(c => c.service === 'acme/old' && c.state === 'running'))
    // old's stop lasts until the test lets it end: new must start meanwhile, whatever the machine's load
    let release!: () => void
    runtime.gate = new Promise(resolve => { release = resolve })
    await r.deploy('name: old\nimage: minga/busybox:1\nreplicas: 0\n')
    await until('old is stopping', () => runtime.stopping > 0)
    await r.deploy('name: new\nimage: minga/busybox:1\nreplicas: 1\n')
    await until('new runs', async () => (await runtime.list()).some(c => c.service === 'acme/new' && c.state === 'running'))
    assert.ok((await runtime.list()).some(c => c.service === 'acme/old'), 'old is still stopping')
    release()
    await until('old is gone', async () => !(await runtime.list()).some(c => c.service === 'acme/old'))
  } finally {
    await r.reconciler.stop()
  }
})

// the limits below are half the periodic pass (60 s): what is done "at once" beats it by far, whatever the load
test('a replica that turns healthy is told to the nodes concerned at once, not at the next period', async () => {
  // the stand-in membership sends nothing on its own: every record here is the reconciler's
  const r = await rig(node => new MemoryRuntime({ meshId: MESH, nodeId: node }), { reconcileInterval: 60_000 })
  await r.deploy('name: web\nimage: minga/busybox:1\nreplicas: 1\nhealth: { cmd: ["true"], interval: 1s }\n')
  await r.reconciler.start()
  try {
    await until('it is told starting', () => r.told.some(b => b.replicas.some(x => x.service === 'acme/web' && !x.healthy)))
    await until('it is told healthy', () => r.told.some(b => b.replicas.some(x => x.service === 'acme/web' && x.healthy)), 30_000)
  } finally {
    await r.reconciler.stop()
  }
})

test('while the nodes concerned have not answered, a singleton waits and any other service starts at once (the planner starts a missing replica whatever they run)', async () => {
  // the records of the nodes that ran them never come: the stand-in membership says they are pending until the test says otherwise
  let answered = false
  const r = await rig(node => new MemoryRuntime({ meshId: MESH, nodeId: node }), { reconcileInterval: 60_000 }, () => !answered)
  await r.deploy('name: web\nimage: minga/busybox:1\nreplicas: 2\n')
  await r.deploy('name: db\nimage: minga/busybox:1\nsingleton: true\n')
  await r.reconciler.start()
  try {
    await until('both replicas of web run', async () => (await r.runtime.list()).filter(c => c.service === 'acme/web' && c.state === 'running').length === 2)
    await r.reconciler.run()
    assert.not.ok((await r.runtime.list()).some(c => c.service === 'acme/db'), 'the singleton waits for the answers')
    answered = true
    r.reconciler.schedule()
    await until('db runs once they answered', async () => (await r.runtime.list()).some(c => c.service === 'acme/db' && c.state === 'running'))
  } finally {
    await r.reconciler.stop()
  }
})

/** a memory runtime whose first event stream ends at once, like an engine that restarted */
class FlakyEvents extends MemoryRuntime {
  subscriptions = 0
  override events (options: { signal?: AbortSignal } = {}): AsyncIterable<RuntimeEvent> {
    this.subscriptions++
    if (this.subscriptions === 1) return (async function * () {})()
    return super.events(options)
  }
}

test('the runtime event stream is watched again after it ends, so a crash is handled at once', async () => {
  let runtime!: FlakyEvents
  const r = await rig(node => (runtime = new FlakyEvents({ meshId: MESH, nodeId: node })), { reconcileInterval: 60_000 })
  await r.deploy('name: web\nimage: minga/busybox:1\nreplicas: 1\n')
  await r.reconciler.start()
  try {
    await until('web runs and events are watched again', async () => runtime.subscriptions >= 2 && (await runtime.list()).some(c => c.state === 'running'), 30_000)
    const [first] = await runtime.list()
    runtime.crash(first.id, 3)
    await until('a crash event is logged', () => r.events.recent().some(e => e.kind === 'replica-crash'), 30_000)
    await until('the replica runs again', async () => (await runtime.list()).some(c => c.state === 'running'), 30_000)
  } finally {
    await r.reconciler.stop()
  }
})

test.run()
