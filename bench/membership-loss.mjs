// membership-loss: SWIM + Lifeguard alone (core/membership, the protocol's test harness: real identities and
// signatures, a virtual clock, a modelled network) with 10 % of transmissions lost, as TCP sees it (each loss
// costs a retransmission timeout): does any member get declared dead? Target: none over 10 virtual minutes
// at 1,000 members. MEMBERSHIP_LOSS_NODES and MEMBERSHIP_LOSS_SECONDS change the size and the virtual time.
//   npx tsc -b node && node bench/membership-loss.mjs
import '../node/dist/src/polyfill.js'
import { loadavg } from 'node:os'
import { SwimCluster } from '../node/dist/test/membership-harness.js'

const nodes = Number(process.env.MEMBERSHIP_LOSS_NODES ?? 1000)
const seconds = Number(process.env.MEMBERSHIP_LOSS_SECONDS ?? 600)
const t0 = performance.now()
const mesh = await SwimCluster.start(nodes, { loss: 0.1, latency: 40, seed: 17 })
// the first minute is the cold boot (every node learns every member's signed alive update): its traffic apart
const bootSeconds = Math.min(60, seconds / 2)
let boot
let virtual = 0
while (virtual < seconds) {
  await mesh.advance(10_000)
  virtual += 10
  if (virtual === bootSeconds) boot = { bytes: mesh.traffic.bytes, cpu: process.cpuUsage() }
  process.stderr.write(`membership-loss: ${virtual}/${seconds} s virtual, ${Math.round((performance.now() - t0) / 1000)} s wall\n`)
}
const deaths = mesh.events.filter(e => e.status === 'dead')
const cpu = process.cpuUsage()
console.log(JSON.stringify({
  name: 'membership-loss',
  nodes,
  virtualSeconds: seconds,
  loss: 0.1,
  falseDeaths: deaths.length,
  suspicions: mesh.events.filter(e => e.status === 'suspect').length,
  // probes that missed their ack and the indirect probes sent for them (Lifeguard's share of the work under loss)
  failedProbes: mesh.running().reduce((sum, h) => sum + h.m.stats.failed, 0),
  indirectProbes: mesh.running().reduce((sum, h) => sum + h.m.stats.indirect, 0),
  probes: mesh.running().reduce((sum, h) => sum + h.m.stats.probes, 0),
  allLive: mesh.running().every(h => h.m.live().length === nodes),
  bytesPerNodePerSec: Math.round(mesh.traffic.bytes / nodes / seconds),
  // after the boot: what a quiet mesh with 10 % loss costs
  bytesPerNodePerSecAfterBoot: boot === undefined ? undefined : Math.round((mesh.traffic.bytes - boot.bytes) / nodes / (seconds - bootSeconds)),
  bootSeconds,
  bootCpuMs: boot === undefined ? undefined : Math.round((boot.cpu.user + boot.cpu.system) / 1000),
  ms: Math.round(performance.now() - t0),
  cpuMs: Math.round((cpu.user + cpu.system) / 1000),
  peakRssMb: Math.round(process.memoryUsage().rss / 1e6),
  loadAvg1m: Math.round(loadavg()[0] * 10) / 10,
  firstDeath: deaths[0] === undefined ? undefined : `${deaths[0].subject.slice(-4)} by ${deaths[0].observer.slice(-4)}: ${deaths[0].reason}`
}))
