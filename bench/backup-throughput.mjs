// backup-throughput: how fast a volume's snapshot reaches its holders over the mesh, against
// restic writing the same data to a local folder. Three real node processes (acme, riverside,
// coop; memory runtime, so volumes are folders; real libp2p on 127.0.0.1, real restic) and a
// singleton of acme with a named volume holding 100 MB of random data (incompressible, as
// encrypted data is). `minga backup` snapshots it: restic encrypts through the node's REST
// server on 127.0.0.1, and every file restic writes becomes a blob on 2 holders (riverside's and
// coop's node). `mbPerSec` is the volume's size over the snapshot's time as the node measured it;
// `localMbPerSec` is `restic backup` of the same folder into a fresh repository on local disk,
// in the same run. MB = 10^6 bytes. Env: BENCH_BACKUP_MB (default 100).
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { startCluster, waitFor } from '../test/dist/src/index.js'

const MB = Number(process.env.BENCH_BACKUP_MB ?? 100)
const run = promisify(execFile)
const dir = await mkdtemp(join(tmpdir(), 'minga-bench-backup-'))
const mesh = await startCluster({ nodes: ['acme', 'riverside', 'coop'], upArgs: ['--http', 'off'] })
try {
  const [owner, ...holders] = mesh.nodes
  const spec = join(dir, 'bulk.yaml')
  await writeFile(spec, [
    'name: bulk',
    'image: minga/busybox:1',
    'command: ["sleep", "3600"]',
    'singleton: true',
    'allowOrgs: [acme]',
    'resources: { cpu: 10m, memory: 4Mi }',
    'volumes:',
    '  - { name: data, path: /data, backup: { interval: 24h } }',
    ''
  ].join('\n'))
  const deployed = await mesh.cli(owner, 'deploy', '-f', spec, '--wait', '--timeout', '120s')
  if (deployed.status !== 0) throw new Error(deployed.stderr)
  const volume = join(owner.dir, 'volumes', 'minga-acme-bulk-data', '_data')
  await waitFor(async () => await stat(volume).then(() => true, () => false), { timeoutMs: 60_000 })
  // 1 MB files, as a database's or an upload folder's would be
  for (let i = 0; i < MB; i++) await writeFile(join(volume, `part-${String(i).padStart(4, '0')}.bin`), randomBytes(1e6))

  const started = Date.now()
  const backup = await mesh.cli(owner, 'backup', 'bulk', '--json')
  const wallMs = Date.now() - started
  if (backup.status !== 0) throw new Error(backup.stderr)
  const [snapshot] = JSON.parse(backup.stdout).snapshots
  let held = 0
  for (const h of holders) held += await du(join(h.dir, 'backup'))

  // restic alone, on the same folder, into a local repository
  const env = { ...process.env, RESTIC_REPOSITORY: join(dir, 'local-repo'), RESTIC_PASSWORD: 'bench', RESTIC_CACHE_DIR: join(dir, 'cache') }
  await run('restic', ['init'], { env })
  const localStarted = Date.now()
  await run('restic', ['backup', '--quiet', '.'], { env, cwd: volume, maxBuffer: 1 << 24 })
  const localMs = Date.now() - localStarted

  console.log(JSON.stringify({
    name: 'backup-throughput',
    mb: Math.round(snapshot.bytes / 1e6),
    holders: 2,
    mbPerSec: round(snapshot.bytes / 1e6 / (snapshot.tookMs / 1000)),
    snapshotMs: snapshot.tookMs,
    cliWallMs: wallMs,
    localMbPerSec: round(snapshot.bytes / 1e6 / (localMs / 1000)),
    localMs,
    storedMb: round(snapshot.bytesStored / 1e6),
    heldOnHoldersMb: round(held / 1e6),
    host: { cpus: cpus().length, loadAvg1m: round(loadavg()[0]) }
  }))
} finally {
  await mesh.stop()
  await rm(dir, { recursive: true, force: true })
}

function round (x) { return Math.round(x * 10) / 10 }

/** bytes under a folder (du's apparent size) */
async function du (path) {
  const { stdout } = await run('du', ['-sb', path]).catch(() => ({ stdout: '0' }))
  return Number(stdout.split('\t')[0]) || 0
}
