// logs-throughput: lines per second from 3 nodes to one CLI. A three-node mesh of real
// processes (memory runtime, real libp2p) runs 90 replicas that each printed 150 lines of
// 64 characters; `minga logs --json` on one node gathers all 13,500 of them (over the
// encrypted logs protocol from the two other nodes, directly from its own), merged by time.
// Reports the CLI's wall time (process start included) and the rate between its first and
// last line. Best of three reads.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { spawn } from 'node:child_process'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MINGA_BIN, startCluster, waitFor } from '../test/dist/src/index.js'

const REPLICAS = 90
const LINES = 150
const text = (i) => `line ${String(i).padStart(4, '0')} ` + 'x'.repeat(54)
const script = Array.from({ length: LINES }, (_, i) => `echo ${text(i)}`).join('; ') + '; sleep 3600'
const dir = await mkdtemp(join(tmpdir(), 'minga-bench-logs-'))
const mesh = await startCluster({ nodes: ['acme', 'acme', 'riverside'], upArgs: ['--http', 'off', '--cpu', '8', '--memory', '8Gi'] })
try {
  const [n1, , n3] = mesh.nodes
  const file = join(dir, 'flood.yaml')
  await writeFile(file, `name: flood\nimage: minga/busybox:1\ncommand: ["sh", "-c", "${script}"]\nreplicas: ${REPLICAS}\nspread: node\nresources: { cpu: 10m, memory: 4Mi }\n`)
  const deployed = await mesh.cli(n1, 'deploy', '-f', file, '--wait', '--timeout', '120s')
  if (deployed.status !== 0) throw new Error(deployed.stderr)
  const expected = REPLICAS * LINES
  const runs = []
  for (let run = 0; run < 3; run++) {
    const result = await read(n3.dir)
    runs.push(result)
    if (result.lines < expected) {
      // replicas still moving into place: wait until every line is there
      await waitFor(async () => (await read(n3.dir)).lines >= expected, { timeoutMs: 60_000 })
      run--
      runs.pop()
    }
  }
  const best = runs.sort((a, b) => a.ms - b.ms)[0]
  const nodes = new Set(best.nodes).size
  console.log(JSON.stringify({
    name: 'logs-throughput',
    lines: best.lines,
    nodes,
    bytes: best.bytes,
    cliMs: Math.round(best.ms),
    linesPerSec: Math.round(best.lines / (best.ms / 1000)),
    streamLinesPerSec: Math.round(best.lines / Math.max(0.001, (best.lastAt - best.firstAt) / 1000)),
    firstLineMs: Math.round(best.firstAt - best.startAt)
  }))
} finally {
  await mesh.stop()
  await rm(dir, { recursive: true, force: true })
}

async function read (dataDir) {
  return await new Promise((resolve, reject) => {
    const startAt = performance.now()
    const child = spawn(process.execPath, [MINGA_BIN, '--data', dataDir, 'logs', 'acme/flood', '--json'], { stdio: ['ignore', 'pipe', 'inherit'] })
    let lines = 0
    let bytes = 0
    let firstAt = 0
    let lastAt = 0
    const nodes = new Set()
    let pending = ''
    child.stdout.setEncoding('utf8').on('data', (chunk) => {
      const now = performance.now()
      if (firstAt === 0) firstAt = now
      lastAt = now
      bytes += chunk.length
      pending += chunk
      const parts = pending.split('\n')
      pending = parts.pop()
      for (const part of parts) {
        const item = JSON.parse(part)
        if (item.type !== 'line') continue
        lines++
        nodes.add(item.node)
      }
    })
    child.on('error', reject)
    child.on('close', (code) => code === 0 ? resolve({ lines, bytes, nodes: [...nodes], ms: performance.now() - startAt, startAt, firstAt, lastAt }) : reject(new Error(`minga logs exited ${code}`)))
  })
}
