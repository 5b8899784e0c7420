// mesh-gossip-bytes: what a mesh costs on the wire, per node per second, with 5 and with 20 real node
// processes (minga up, in-memory runtime, 127.0.0.1): idle for 10 s, then for 10 s under one deploy a second.
//
// Method: the kernel's own counters. `ss -tinp` lists every established TCP socket of each node process
// with tcp_info's bytes_sent / bytes_received: what really left the process after Noise, yamux, the
// private-network cipher and TCP framing (retransmits included), for every protocol (gossipsub heartbeats
// and entries, anti-entropy, identify, pings, the DHT). A window's figure is the difference of two readings
// over the member connections, which live for the whole run (a socket that closes in between would drop out
// of the second reading, so the figures are, if anything, low). On loopback every byte one node sends is a
// byte another receives, so sent and received agree; we report sent. Beside it, which protocol carried them:
// each node's libp2p_data_transfer_bytes_total (stream payload before Yamux and Noise), per node per second,
// with the meshId cut from minga's protocol ids; and of the membership protocol's bytes, which messages
// (minga_membership_sent_bytes_total: probes, acks, gossip, push-pull, replica records; reports are asked for
// only by people's views, and a scrape of /v1/metrics asks no other node). Beside the bytes, the liveness
// events of each window: suspicions the nodes raised themselves, refutations and deaths (livenessEvents).
import { join } from 'node:path'
import { loadavg } from 'node:os'
import { apiClient } from '../packages/cli/dist/src/index.js'
import { cpuMs, membershipBytes, probeOutcomes, protocolBytes, startCluster, sleep, tcpBytes, waitFor } from '../test/dist/src/index.js'

const WINDOW_MS = 10_000

/**
 * What the nodes said of each other's liveness in a window (their own event logs): suspicions a node raised
 * itself (its probe went unanswered), by reason; suspicions, refutations (suspect → alive at a new
 * incarnation) and deaths as all observers saw them. A false suspicion costs a suspect update and a refutation
 * gossiped to every member, each sent on about retransmitLimit times by each: its bytes show under gossip and ack
 */
async function livenessEvents (apis, from, to) {
  const out = { raised: 0, suspectEvents: 0, refutedEvents: 0, deadEvents: 0, raisedBy: {} }
  for (const api of apis) {
    const events = await api.get('/v1/events').catch(() => [])
    for (const e of events) {
      if (e.time < from || e.time > to) continue
      if (e.kind === 'node-suspect') {
        out.suspectEvents++
        if (/^no ack to a probe/.test(e.reason)) {
          out.raised++
          const reason = e.reason.replace(/[\d.]+ s,/, 'N s,')
          out.raisedBy[reason] = (out.raisedBy[reason] ?? 0) + 1
        }
      } else if (e.kind === 'node-dead') out.deadEvents++
      else if (e.kind === 'node-up' && /new incarnation/.test(e.reason)) out.refutedEvents++
    }
  }
  return out
}
const SIZES = (process.env.MINGA_BENCH_SIZES ?? '5,20').split(',').map(Number)

for (const size of SIZES) {
  const orgs = Array.from({ length: size }, (_, i) => i % 2 === 0 ? 'acme' : 'riverside')
  const joinStart = performance.now()
  const mesh = await startCluster({ nodes: orgs, concurrency: 5, timeoutMs: 180_000, settle: false })
  const joinedMs = Math.round(performance.now() - joinStart)
  try {
    const apis = mesh.nodes.map(n => apiClient(join(n.dir, 'api.sock')))
    const pids = mesh.nodes.map(n => n.process.pid)
    // settled: every node sees every other alive and holds the same state
    let statuses = []
    const settleStart = performance.now()
    await waitFor(async () => {
      statuses = await Promise.all(apis.map(async api => await api.get('/v1/status').catch(() => undefined)))
      return statuses.every(s => s !== undefined && s.digest === statuses[0].digest && s.nodes.alive === size)
    }, { timeoutMs: 180_000, intervalMs: 1000, message: () => `a ${size}-node mesh did not settle at load ${loadavg()[0].toFixed(1)}:\n${statuses.map((s, i) => `n${i + 1}: ${s === undefined ? 'no answer' : `${s.digest.slice(0, 12)} ${JSON.stringify(s.nodes)} died ${s.recent.nodesDied}`}`).join('\n')}\n${mesh.logs(5)}` }).catch(async (err) => {
      // what the nodes said of each other, for the failure's reader
      for (const [i, api] of apis.entries()) {
        const events = await api.get('/v1/events').catch(() => [])
        const reasons = {}
        for (const e of events) if (e.kind === 'node-dead' || e.kind === 'node-suspect') reasons[`${e.kind}: ${e.reason.slice(0, 80)}`] = (reasons[`${e.kind}: ${e.reason.slice(0, 80)}`] ?? 0) + 1
        console.error(`n${i + 1}`, JSON.stringify(reasons))
      }
      throw err
    })
    const settledMs = Math.round(performance.now() - settleStart)
    await sleep(3000)

    const sockets = mesh.nodes.map(n => join(n.dir, 'api.sock'))
    const byProtocol = async () => await Promise.all(sockets.map(protocolBytes))
    const byMembershipType = async () => await Promise.all(sockets.map(membershipBytes))
    const measure = async (during) => {
      const protocolsBefore = await byProtocol()
      const typesBefore = await byMembershipType()
      const probesBefore = await Promise.all(sockets.map(probeOutcomes))
      const cpuBefore = await Promise.all(pids.map(cpuMs))
      const before = await tcpBytes(pids)
      const start = performance.now()
      const since = Date.now()
      await during()
      const after = await tcpBytes(pids)
      const cpuAfter = await Promise.all(pids.map(cpuMs))
      const seconds = (performance.now() - start) / 1000
      const protocolsAfter = await byProtocol()
      const typesAfter = await byMembershipType()
      const probesAfter = await Promise.all(sockets.map(probeOutcomes))
      const probes = {}
      for (const [i, counts] of probesAfter.entries()) {
        for (const [result, n] of counts) probes[result] = (probes[result] ?? 0) + n - (probesBefore[i].get(result) ?? 0)
      }
      const types = {}
      for (const [i, counts] of typesAfter.entries()) {
        for (const [type, bytes] of counts) types[type] = (types[type] ?? 0) + bytes - (typesBefore[i].get(type) ?? 0)
      }
      for (const type of Object.keys(types)) types[type] = Math.round(types[type] / size / seconds)
      const protocols = {}
      for (const [i, counts] of protocolsAfter.entries()) {
        for (const [protocol, { sent }] of counts) {
          const name = protocol.replace(/^\/minga\/[^/]+\//, '/minga/')
          protocols[name] = (protocols[name] ?? 0) + sent - (protocolsBefore[i].get(protocol)?.sent ?? 0)
        }
      }
      for (const name of Object.keys(protocols)) protocols[name] = Math.round(protocols[name] / size / seconds)
      let sent = 0
      let received = 0
      for (const pid of pids) {
        sent += after.get(pid).sent - before.get(pid).sent
        received += after.get(pid).received - before.get(pid).received
      }
      const liveness = await livenessEvents(apis, since, Date.now())
      const cpu = cpuAfter.reduce((a, c, i) => a + c - cpuBefore[i], 0) / size / 1000 / seconds * 100
      return { sent: Math.round(sent / size / seconds), received: Math.round(received / size / seconds), cpuPercentPerNode: Math.round(cpu * 10) / 10, protocols: Object.fromEntries(Object.entries(protocols).filter(([name, bytes]) => name !== 'global' && bytes > 0).sort((a, b) => b[1] - a[1])), membership: Object.fromEntries(Object.entries(types).filter(([type, bytes]) => bytes > 0).sort((a, b) => b[1] - a[1])), liveness: { ...liveness, probes } }
    }
    const idle = await measure(async () => { await sleep(WINDOW_MS) })
    let deploys = 0
    const busy = await measure(async () => {
      const end = performance.now() + WINDOW_MS
      while (performance.now() < end) {
        const next = performance.now() + 1000
        await apis[0].post('/v1/deploy', { text: `name: g${deploys++}\nimage: minga/busybox:1\nreplicas: 1\nresources: { cpu: 10m, memory: 8Mi }\n` })
        await sleep(Math.max(0, next - performance.now()))
      }
    })
    console.log(JSON.stringify({
      name: 'mesh-gossip-bytes',
      nodes: size,
      idleBytesPerNodePerSec: idle.sent,
      deployBytesPerNodePerSec: busy.sent,
      idleCpuPercentPerNode: idle.cpuPercentPerNode,
      deployCpuPercentPerNode: busy.cpuPercentPerNode,
      idleByProtocol: idle.protocols,
      deployByProtocol: busy.protocols,
      idleMembershipByType: idle.membership,
      deployMembershipByType: busy.membership,
      idleLiveness: idle.liveness,
      deployLiveness: busy.liveness,
      deploysPerSec: Math.round(deploys / (WINDOW_MS / 1000) * 10) / 10,
      windowSeconds: WINDOW_MS / 1000,
      joinedMs,
      settledMs,
      method: 'tcp_info bytes_sent of member sockets (ss -tinp)',
      loadAvg1m: Math.round(loadavg()[0] * 10) / 10
    }))
  } finally {
    await mesh.stop()
  }
}
