// What each step of the simulator's CPU model (node/src/core/cpu-model.ts) costs a real node process on this machine,
// now: bench/cpu-costs.mjs prints it, bench/sim-vs-real.mjs charges it to the model before comparing the two
// (how each step is measured: bench/cpu-costs.mjs).
import { join } from 'node:path'
import { loadavg } from 'node:os'
import '../../node/dist/src/polyfill.js'
import { createLibp2p } from 'libp2p'
import { generateIdentity, newSwarmKey } from '../../protocol/dist/src/index.js'
import { MemberGater } from '../../node/dist/src/host/gater.js'
import { defaults } from '../../node/dist/src/host/libp2p-config.js'
import { Libp2pMesh } from '../../node/dist/src/host/libp2p-mesh.js'
import { apiClient } from '../../packages/cli/dist/src/index.js'
import { cpuMs, sleep } from '../../test/dist/src/index.js'
import { runScenario } from '../../simulations/dist/src/index.js'
import { deployAll, deployKill10, deploySpec, startMesh } from './deploy-kill-10.mjs'
import { median } from './stats.mjs'
import { countSteps } from './step-counts.mjs'

// what merging an entry costs against a pass: 8.9 against 7.3 ms per call of `mergeNow` and of the reconciler's pass in a
// profile of the ten processes over this deploy (2026-11-30; the profiler's own cost inflates both, the ratio is what is used)
const ENTRY_TO_PASS_COST = 1.2
const WINDOW_MS = 3000
const WRITES = 8
const round2 = (x) => Math.round(x * 100) / 100

/**
 * the model's costs measured on real processes on this machine (ms of one core per step: message, write, gossip,
 * pass, close, dial; idle: ms of one core a second) and the raw figures they come from; takes ~2 minutes (a 13-node mesh,
 * a 10-node deploy)
 */
export async function measureCpuCosts () {
  const { message, dial } = await connectionCosts()
  const counts = await modelCounts()
  const real = await meshCosts()
  const writes = 4 * real.write
  const perNode = (real.deployCpu - writes) / 10 - counts.message * message
  const pass = perNode / (ENTRY_TO_PASS_COST * counts.gossip + counts.pass)
  const gossip = ENTRY_TO_PASS_COST * pass
  // an idle process's CPU beyond what the model charges it as steps
  const idle = real.idle - counts.idle.message * message - counts.idle.gossip * gossip - counts.idle.pass * pass
  return {
    message: round2(message),
    write: round2(real.write),
    gossip: round2(gossip),
    pass: round2(pass),
    close: round2(real.close),
    dial: round2(dial),
    idle: round2(Math.max(0, idle)),
    writeAckMs: round2(real.writeAckMs),
    deployCpuMs: real.deployCpu,
    modelStepsPerNode: counts,
    idleCpuMsPerNodeSecond: round2(real.idle),
    closeEach: real.closes,
    loadAvg1m: Math.round(loadavg()[0] * 10) / 10
  }
}

/**
 * `measure(request, hosts)` with two real hosts in this process as the daemon builds them, the second answering
 * requests on minga's shared request stream; `request()` sends one 120-byte request from the first to the second
 */
async function withTwoHosts (measure) {
  const P = '/bench/cpu/1.0.0'
  const psk = newSwarmKey()
  const hosts = await Promise.all([0, 1].map(async () => {
    const identity = await generateIdentity()
    return await createLibp2p(defaults({ privateKey: identity.privateKey, meshId: 'cpu-costs', psk, listen: ['/ip4/127.0.0.1/tcp/0'], gater: new MemberGater({ isMember: () => true }) }))
  }))
  try {
    const a = new Libp2pMesh(hosts[0], { shared: [P] })
    const b = new Libp2pMesh(hosts[1], { shared: [P] })
    b.handle(P, async (data) => data)
    await hosts[0].peerStore.merge(hosts[1].peerId, { multiaddrs: hosts[1].getMultiaddrs() })
    const peer = hosts[1].peerId.toString()
    const payload = new Uint8Array(120)
    return await measure(async () => await a.request(peer, P, payload), hosts)
  } finally {
    await Promise.all(hosts.map(async h => await h.stop()))
  }
}

/** ms of CPU (user + system) this process spends in `n` calls of `fn`, one after the other */
async function cpuOf (n, fn) {
  const before = process.cpuUsage()
  for (let i = 0; i < n; i++) await fn()
  const { user, system } = process.cpuUsage(before)
  return (user + system) / 1000
}

/** the costs of messages and of a connection's life on this machine (ms of one core per step; see `messageCost`, `dialCost`) */
export async function connectionCosts () {
  const message = await messageCost()
  return { message, dial: await dialCost(message) }
}

/** CPU per message: round trips on minga's shared request stream between two real hosts in this process */
async function messageCost () {
  return await withTwoHosts(async (request) => {
    for (let i = 0; i < 300; i++) await request()
    const n = 2000
    return await cpuOf(n, request) / n / 2
  })
}

/**
 * CPU per end of a connection's life: a request that dials first (Noise's handshake over the private network,
 * yamux, identify, gossipsub's and the shared request stream's negotiation), then the close as the trim closes it
 * (node/src/host/connection-trim.ts); less the request itself (`message`, two ends). 20 of warm-up, then 100
 */
async function dialCost (message) {
  return await withTwoHosts(async (request, [a, b]) => {
    // the close and the other end's teardown, then identify's and gossipsub's follow-ups, before the next dial
    const settle = async () => { await sleep(20) }
    const life = async () => {
      await request()
      await settle()
      await Promise.all(a.getConnections(b.peerId).map(async c => await c.close()))
      await settle()
    }
    for (let i = 0; i < 20; i++) await life()
    const n = 100
    return await cpuOf(n, life) / n / 2 - message
  })
}

/** the model's steps per node in the 3 s after deploy-kill-10's deploy, beyond the 3 s before */
async function modelCounts () {
  const scenario = await deployKill10()
  const deployAt = scenario.timeline.find(a => a.kind === 'deploy').at
  let clock
  const windowAt = (t) => t >= deployAt - WINDOW_MS && t < deployAt ? 'before' : t >= deployAt && t < deployAt + WINDOW_MS ? 'after' : undefined
  const { costs, counts } = countSteps(scenario.cpu.costs, () => clock?.elapsed ?? 0, windowAt)
  scenario.cpu.costs = costs
  await runScenario({ ...scenario, timeline: scenario.timeline.filter(a => a.kind === 'deploy'), duration: deployAt + 10_000, settle: 0 }, { onCluster: (cluster) => { clock = cluster.sim } })
  const windows = { before: counts.before ?? {}, after: counts.after ?? {} }
  const per = (step) => ((windows.after[step] ?? 0) - (windows.before[step] ?? 0)) / scenario.nodes
  // and what the model charges an idle node a second (its probes' messages), in the window before the deploy
  const idle = (step) => (windows.before[step] ?? 0) / scenario.nodes / (WINDOW_MS / 1000)
  return { message: per('message'), gossip: per('gossip'), pass: per('pass'), idle: { message: idle('message'), gossip: idle('gossip'), pass: idle('pass') } }
}

/** real node processes: kills of nodes that run nothing (three of 13), then on the other ten their idle CPU, sim-vs-real's deploy and warm writes */
async function meshCosts () {
  // ten as in sim-vs-real, and three more to kill first
  const mesh = await startMesh(await deployKill10(), 13)
  const cpu = async (nodes) => (await Promise.all(nodes.map(async n => await cpuMs(n.process.pid)))).reduce((a, b) => a + b, 0)
  try {
    await sleep(5000)
    // kill -9 of the three extra nodes, one after another, before anything is deployed
    const closes = []
    let alive = [...mesh.nodes]
    for (const victim of mesh.nodes.slice(10)) {
      alive = alive.filter(n => n !== victim)
      const b0 = await cpu(alive)
      await sleep(1000)
      const b1 = await cpu(alive)
      const start = performance.now()
      await mesh.kill9(victim)
      await sleep(100)
      const k1 = await cpu(alive)
      const idleShare = (b1 - b0) * (performance.now() - start) / 1000
      closes.push(round2((k1 - b1 - idleShare) / alive.length))
      await sleep(3000)
    }
    const ten = mesh.nodes.slice(0, 10)
    const api = apiClient(join(mesh.nodes[0].dir, 'api.sock'))
    // sim-vs-real's deploy: four services posted at once to one node
    const idle0 = await cpu(ten)
    await sleep(WINDOW_MS)
    const idle1 = await cpu(ten)
    await deployAll(api)
    await sleep(WINDOW_MS)
    const deployCpu = (await cpu(ten) - idle1) - (idle1 - idle0)
    // warm writes of one service each: the writing process's CPU over each, less its idle CPU over as long
    // (its wall time on a loaded machine is not its CPU; /proc counts CPU in 10 ms ticks, so the mean of 8)
    const idleRate = (idle1 - idle0) / 10 / WINDOW_MS
    const pid = mesh.nodes[0].process.pid
    let writeCpu = 0
    const acks = []
    for (let i = 0; i < WRITES; i++) {
      await sleep(2000)
      const c = await cpuMs(pid)
      const t = performance.now()
      await api.post('/v1/deploy', deploySpec(`warm-${i}`, 1))
      acks.push(performance.now() - t)
      writeCpu += await cpuMs(pid) - c - idleRate * acks[i]
    }
    return { deployCpu, write: Math.max(0, writeCpu / WRITES), writeAckMs: median(acks), idle: idleRate * 1000, close: median(closes), closes }
  } finally {
    await mesh.stop()
  }
}
