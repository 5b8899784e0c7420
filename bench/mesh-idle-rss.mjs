// mesh-idle-rss: five real node processes (minga up, in-memory runtime, 127.0.0.1) in one mesh,
// idle for 30 s after they agree on the state; then each process's resident memory (VmRSS from
// /proc/PID/status) and the CPU it used while idle (/proc/PID/stat). Target: under 100 MB per node.
import { loadavg } from 'node:os'
import { startCluster, sleep, rssMb, cpuMs } from '../test/dist/src/index.js'

const NODES = 5
const IDLE_MS = 30_000
const TARGET_MB = 100

const mesh = await startCluster({ nodes: ['acme', 'acme', 'riverside', 'acme', 'riverside'] })
try {
  await mesh.waitForSameDigest(mesh.nodes, 60_000)
  const pids = mesh.nodes.map(n => n.process.pid)
  const cpuBefore = await Promise.all(pids.map(cpuMs))
  await sleep(IDLE_MS)
  const cpuAfter = await Promise.all(pids.map(cpuMs))
  const rss = await Promise.all(pids.map(rssMb))
  const mean = rss.reduce((a, b) => a + b, 0) / rss.length
  const cpu = cpuAfter.map((c, i) => (c - cpuBefore[i]) / IDLE_MS * 100)
  console.log(JSON.stringify({
    name: 'mesh-idle-rss',
    nodes: NODES,
    idleSeconds: IDLE_MS / 1000,
    rssMbMean: Math.round(mean * 10) / 10,
    rssMbMax: Math.round(Math.max(...rss) * 10) / 10,
    targetMb: TARGET_MB,
    withinTarget: Math.max(...rss) < TARGET_MB,
    idleCpuPercentPerNode: Math.round(cpu.reduce((a, b) => a + b, 0) / cpu.length * 10) / 10,
    loadAvg1m: Math.round(loadavg()[0] * 10) / 10
  }))
} finally {
  await mesh.stop()
}
