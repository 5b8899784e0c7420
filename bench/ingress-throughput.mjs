// ingress-throughput: what the routing mesh costs a connection. Four processes, as two daemons and an
// app would be: the client (this one) → node A's published port → one libp2p stream over the mesh's
// encrypted connection (private network, Noise, Yamux) → node B → the replica (a TCP server process).
// Nodes are the node's own code (libp2p defaults(), Ingress); the replica serves sink, source and echo.
//
// Figures (median of RUNS runs, each against the same replica directly over loopback TCP in the same run):
//   mbPerSec / downMbPerSec: one connection uploading / downloading MB MiB through the mesh
//   directMbPerSec: the same upload straight to the replica
//   addedLatencyP50Ms / P99: a 100-byte request/response on an open connection, mesh minus direct
//   addedNewConnectionP50Ms: connect + 100 bytes + answer on a new connection per request, mesh minus direct
//   cpuMsPerMb: CPU of node A and node B per MB uploaded (steadier than MB/s on a shared machine)
// Targets (issue 13): mbPerSec >= 100, addedLatencyP50Ms < 2.
import { once } from 'node:events'
import net from 'node:net'
import { loadavg } from 'node:os'
import { startPair } from './lib/ingress-pair.mjs'
import { median, percentile } from './lib/stats.mjs'

const MB = Number(process.env.INGRESS_BENCH_MB ?? 512)
const RUNS = Number(process.env.INGRESS_BENCH_RUNS ?? 3)
const RTTS = 3000
const CONNECTS = 400

const pair = await startPair()
const { ports, published, cpu } = pair

const connect = (port) => new Promise((resolve, reject) => {
  const s = net.connect({ port, host: '127.0.0.1', noDelay: true, allowHalfOpen: true }, () => resolve(s))
  s.once('error', reject)
})

async function upload (port, bytes) {
  const s = await connect(port)
  const chunk = Buffer.alloc(64 * 1024, 1)
  const t0 = process.hrtime.bigint()
  for (let left = bytes; left > 0;) {
    const c = left >= chunk.length ? chunk : chunk.subarray(0, left)
    left -= c.length
    if (!s.write(c)) await once(s, 'drain')
  }
  s.end()
  let answer = ''
  s.on('data', (d) => { answer += d })
  await once(s, 'end')
  const secs = Number(process.hrtime.bigint() - t0) / 1e9
  s.destroy()
  if (Number(answer) !== bytes) throw new Error(`the replica got ${answer} of ${bytes} bytes`)
  return bytes / 1e6 / secs
}

async function download (port, bytes) {
  const s = await connect(port)
  const t0 = process.hrtime.bigint()
  s.write(String(bytes))
  let got = 0
  s.on('data', (d) => { got += d.length })
  await once(s, 'end')
  const secs = Number(process.hrtime.bigint() - t0) / 1e9
  s.destroy()
  if (got !== bytes) throw new Error(`got ${got} of ${bytes} bytes`)
  return bytes / 1e6 / secs
}

async function roundTrips (port, n) {
  const s = await connect(port)
  const message = Buffer.alloc(100, 2)
  const times = []
  let wake
  let got = 0
  s.on('data', (d) => { got += d.length; if (got >= 100) { got -= 100; wake() } })
  for (let i = 0; i < n + 200; i++) {
    const t0 = process.hrtime.bigint()
    await new Promise((resolve) => { wake = resolve; s.write(message) })
    if (i >= 200) times.push(Number(process.hrtime.bigint() - t0) / 1e6)
  }
  s.destroy()
  return { p50: percentile(times, 50), p99: percentile(times, 99) }
}

async function newConnections (port, n) {
  const message = Buffer.alloc(100, 2)
  const times = []
  for (let i = 0; i < n + 20; i++) {
    const t0 = process.hrtime.bigint()
    const s = await connect(port)
    s.write(message)
    let got = 0
    await new Promise((resolve) => s.on('data', (d) => { got += d.length; if (got >= 100) resolve() }))
    if (i >= 20) times.push(Number(process.hrtime.bigint() - t0) / 1e6)
    s.destroy()
  }
  return { p50: percentile(times, 50), p99: percentile(times, 99) }
}

const round = (x, digits = 1) => Number(x.toFixed(digits))
const bytes = MB * 1024 * 1024
const runs = []
try {
  for (let run = 0; run < RUNS; run++) {
    const direct = await upload(ports.sink, bytes)
    const [cpuA, cpuB] = [await cpu('a'), await cpu('b')]
    const up = await upload(published.sink, bytes)
    const cpuMsPerMb = [(await cpu('a') - cpuA) / (bytes / 1e6), (await cpu('b') - cpuB) / (bytes / 1e6)]
    const down = await download(published.source, bytes)
    const rttDirect = await roundTrips(ports.echo, RTTS)
    const rttMesh = await roundTrips(published.echo, RTTS)
    const connDirect = await newConnections(ports.echo, CONNECTS)
    const connMesh = await newConnections(published.echo, CONNECTS)
    runs.push({ up, down, direct, cpuMsPerMb, rttDirect, rttMesh, connDirect, connMesh })
  }
  const pick = (f) => median(runs.map(f))
  console.log(JSON.stringify({
    name: 'ingress-throughput',
    mb: MB,
    runs: RUNS,
    mbPerSec: round(pick(r => r.up)),
    downMbPerSec: round(pick(r => r.down)),
    directMbPerSec: round(pick(r => r.direct)),
    addedLatencyP50Ms: round(pick(r => r.rttMesh.p50 - r.rttDirect.p50), 2),
    addedLatencyP99Ms: round(pick(r => r.rttMesh.p99 - r.rttDirect.p99), 2),
    latencyP50Ms: round(pick(r => r.rttMesh.p50), 2),
    addedNewConnectionP50Ms: round(pick(r => r.connMesh.p50 - r.connDirect.p50), 2),
    newConnectionP50Ms: round(pick(r => r.connMesh.p50), 2),
    cpuMsPerMb: { nodeA: round(pick(r => r.cpuMsPerMb[0]), 2), nodeB: round(pick(r => r.cpuMsPerMb[1]), 2) },
    upRangeMbPerSec: [round(Math.min(...runs.map(r => r.up))), round(Math.max(...runs.map(r => r.up)))],
    targets: { mbPerSec: 100, addedLatencyP50Ms: 2 },
    load: loadavg().map(l => round(l, 2))
  }))
} finally {
  await pair.stop()
}
