// One process's share of membership-past-limit's hosts (bench/membership-past-limit.mjs): each a libp2p host as a
// node's daemon builds it (defaults(), Libp2pMesh with membership's shared stream, ConnectionTrim) keeping the
// parent's limit of connections, running the real Membership with the system clock. Driven by the parent's messages:
// start {count, limit} → started {hosts: [{id, addrs}]}; members {hosts, stagger, offset, processes} → running
// (memberships start `stagger` ms apart); report → report {…counters}; kill {victims, mine} → killed; stop → stopped.
import '../../node/dist/src/polyfill.js'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { CONNECTION_LIMITS } from '../../node/dist/src/core/connection-limits.js'
import { WireBytes, countingMesh } from '../../node/dist/src/core/membership/wire-bytes.js'
import { REAL_MEMBERSHIP, learnAddresses, listing, realHosts, startMembership, stopMember } from '../../node/dist/test/real-members.js'

/** connections a host keeps: the parent's limit (the production one until it says) */
let limit = CONNECTION_LIMITS.maxConnections

const delay = monitorEventLoopDelay({ resolution: 10 })
delay.enable()
const hosts = []
let ids = []
const victims = new Set()
/** why requests failed: whether the peer was connected when asked, the error's name and message (peer ids and numbers cut) → count */
const failures = new Map()

const send = (message) => { process.send(message) }

async function start (count, keep) {
  limit = keep ?? limit
  for (const member of await realHosts(count, limit)) {
    hosts.push({ ...member, bytes: new WireBytes(), suspicions: 0, deaths: 0, requests: 0, failedRequests: 0, heard: new Set(), verdicts: new Map(), mostConnections: 0 })
  }
  send({ type: 'started', hosts: hosts.map(listing) })
}

async function run (all, stagger, offset, processes) {
  ids = all.map(h => h.id).sort()
  await learnAddresses(hosts, all)
  // members start one after another across the processes (`stagger` ms apart), as a mesh grows by joins: all at
  // once, every first probe is a dial, and on two cores the handshakes of 60 hosts starve their event loops
  for (const [i, host] of hosts.entries()) setTimeout(() => { startMembership(host, ids, hooks(host)) }, (i * processes + offset) * stagger)
  send({ type: 'running' })
}

/** what a host's membership tells the counters: requests and their failures (and why), statuses, who it heard from */
function hooks (host) {
  const counted = countingMesh(host.mesh, REAL_MEMBERSHIP, host.bytes)
  const request = counted.request
  counted.request = (peer, protocol, data, options) => {
    host.requests++
    const dialled = !host.mesh.connectedTo(peer)
    return request(peer, protocol, data, options).catch((err) => {
      host.failedRequests++
      const why = `${dialled ? 'dialled' : 'connected'}: ${err.name}: ${String(err.message).replace(/12D3KooW\w+/g, 'P').replace(/\d+/g, 'N').slice(0, 90)}`
      failures.set(why, (failures.get(why) ?? 0) + 1)
      throw err
    })
  }
  return {
    mesh: counted,
    heard: (peer) => { host.heard.add(peer) },
    onStatus: (peer, status) => {
      if (status === 'suspect' && !victims.has(peer)) host.suspicions++
      if (status === 'dead') {
        if (victims.has(peer)) { if (!host.verdicts.has(peer)) host.verdicts.set(peer, Date.now()) } else host.deaths++
      }
    }
  }
}

function report () {
  const live = hosts.filter(h => h.membership !== undefined)
  for (const h of live) h.mostConnections = Math.max(h.mostConnections, h.libp2p.getConnections().length)
  const cpu = process.cpuUsage()
  send({
    type: 'report',
    heardCounts: hosts.map(h => h.heard.size),
    suspicions: hosts.reduce((s, h) => s + h.suspicions, 0),
    deaths: hosts.reduce((s, h) => s + h.deaths, 0),
    requests: hosts.reduce((s, h) => s + h.requests, 0),
    failedRequests: hosts.reduce((s, h) => s + h.failedRequests, 0),
    bytes: hosts.reduce((s, h) => s + [...h.bytes.totals().values()].reduce((a, b) => a + b, 0), 0),
    trimmed: hosts.reduce((s, h) => s + h.trim.closed, 0),
    extras: hosts.reduce((s, h) => s + h.trim.extras, 0),
    mostConnections: Math.max(0, ...hosts.map(h => h.mostConnections)),
    connectionLimit: limit,
    delayP99Ms: Math.round(delay.percentile(99) / 1e6),
    // this process's resident memory and the connections its hosts hold now (each end counts)
    rssMb: Math.round(process.memoryUsage().rss / 1e6),
    connections: live.reduce((s, h) => s + h.libp2p.getConnections().length, 0),
    cpuMs: (cpu.user + cpu.system) / 1000,
    failures: Object.fromEntries(failures),
    verdicts: live.flatMap(h => [...h.verdicts].map(([peer, at]) => ({ observer: h.identity.peerId, peer, at })))
  })
  delay.reset()
}

async function kill (dead, mine) {
  for (const v of dead) victims.add(v)
  await Promise.all(hosts.filter(h => mine.includes(h.identity.peerId)).map(stopMember))
  send({ type: 'killed' })
}

async function stop () {
  await Promise.all(hosts.map(stopMember))
  send({ type: 'stopped' })
  process.exit(0)
}

// hosts are counted at each report; between reports a host's connections are sampled every second
setInterval(() => { for (const h of hosts) if (h.membership !== undefined) h.mostConnections = Math.max(h.mostConnections, h.libp2p.getConnections().length) }, 1000).unref()

process.on('message', (m) => {
  const done = m.type === 'start'
    ? start(m.count, m.limit)
    : m.type === 'members'
      ? run(m.hosts, m.stagger, m.offset, m.processes)
      : m.type === 'report'
        ? Promise.resolve(report())
        : m.type === 'kill' ? kill(m.victims, m.mine) : stop()
  done.catch((err) => { console.error(err); process.exit(1) })
})
