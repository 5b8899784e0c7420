/**
 * Crash safety of a real node process: kill -9 in the middle of bursts of
 * writes, in a loop, loses nothing the node acknowledged; a full disk (a
 * file-size limit, `ulimit -f`) is a clear error, and after space returns
 * the node starts with every acknowledged write and writes again.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { apiClient, type ApiClient } from '@minga/cli'
import { Cluster, MINGA_BIN, waitFor, type MingaNode } from '../src/index.js'

const spec = (name: string, pad = 0): string => `name: ${name}\nimage: minga/busybox:1\nenv:\n  PAD: "${'x'.repeat(pad)}"\n`

/** writers that deploy new services as fast as the node acknowledges them, until `stop()`; returns the acknowledged names */
function burst (api: ApiClient, prefix: string, writers = 4, pad = 0): { acked: string[], refusals: string[], stop: () => Promise<void> } {
  const acked: string[] = []
  const refusals: string[] = []
  let running = true
  let n = 0
  const loops = Array.from({ length: writers }, async () => {
    while (running) {
      const name = `${prefix}-${n++}`
      try {
        await api.post('/v1/deploy', { text: spec(name, pad) })
        acked.push(name)
      } catch (err: any) {
        refusals.push(String(err?.message ?? err))
        if (/No minga node is running|socket hang up|ECONNRESET|EPIPE|not JSON/.test(String(err?.message))) return
      }
    }
  })
  return { acked, refusals, stop: async () => { running = false; await Promise.all(loops) } }
}

async function present (api: ApiClient, names: string[]): Promise<string[]> {
  const missing: string[] = []
  for (const name of names) {
    try {
      await api.get(`/v1/services/acme/${name}`)
    } catch {
      missing.push(name)
    }
  }
  return missing
}

test('kill -9 during bursts of writes, in a loop: every acknowledged write is there after each restart', async () => {
  const mesh = await Cluster.create()
  try {
    const node = await mesh.init('acme')
    await mesh.up(node)
    const api = apiClient(join(node.dir, 'api.sock'))
    const acked: string[] = []
    for (let cycle = 0; cycle < 3; cycle++) {
      const writes = burst(api, `c${cycle}`)
      await waitFor(() => writes.acked.length >= 10 + 7 * cycle, { timeoutMs: 30_000, intervalMs: 5, message: () => `only ${writes.acked.length} writes acknowledged: ${writes.refusals.slice(-3).join('; ')}` })
      await mesh.kill9(node)
      await writes.stop()
      acked.push(...writes.acked)
      await mesh.up(node)
      const missing = await present(api, acked)
      assert.equal(missing, [], `lost ${missing.length} acknowledged write(s) after kill -9 #${cycle + 1}`)
    }
    assert.ok(acked.length >= 30)
    // and it writes on
    await api.post('/v1/deploy', { text: spec('after-crashes') })
  } finally {
    await mesh.stop()
  }
})

test('a full disk is a clear error that changes nothing; with space back, nothing acknowledged is lost', async () => {
  const mesh = await Cluster.create()
  let limited: ReturnType<typeof spawn> | undefined
  try {
    const node = await mesh.init('acme')
    // the node runs under a 64 KiB file-size limit: LevelDB's log hits it after a few dozen writes
    limited = spawn('bash', ['-c', `ulimit -f 64; exec "${process.execPath}" "${MINGA_BIN}" --data "${node.dir}" up --runtime memory --listen /ip4/127.0.0.1/tcp/0 --door /ip4/127.0.0.1/tcp/0 --http 127.0.0.1:0`], { stdio: ['ignore', 'ignore', 'pipe'] })
    let log = ''
    limited.stderr!.on('data', (d: Buffer) => { log += d.toString() })
    await waitFor(() => log.includes('\nready'), { timeoutMs: 45_000, message: () => log })
    const api = apiClient(join(node.dir, 'api.sock'))
    const writes = burst(api, 'fill', 1, 900)
    await waitFor(() => writes.refusals.length >= 3, { timeoutMs: 60_000, message: () => `no refusal after ${writes.acked.length} writes` })
    await writes.stop()
    assert.ok(writes.acked.length > 5, 'some writes fit before the disk was full')
    assert.match(writes.refusals[0], /Could not write the state store .* free disk space or check the disk, then retry/)
    // the node is still up and still answers reads
    assert.ok((await api.get('/v1/status')).org === 'acme')
    // the CLI says so, and fails
    const file = join(node.dir, '..', 'one-more.yaml')
    await writeFile(file, spec('one-more', 900))
    const refusedCli = await mesh.cli(node, 'deploy', '-f', file)
    assert.is(refusedCli.status, 1)
    assert.match(refusedCli.stderr, /minga: Could not write the state store/)
    limited.kill('SIGKILL')
    await new Promise(resolve => limited!.once('exit', resolve))
    limited = undefined

    await mesh.up(node as MingaNode)
    const missing = await present(api, writes.acked)
    assert.equal(missing, [], `lost ${missing.length} acknowledged write(s) to a full disk`)
    await api.post('/v1/deploy', { text: spec('space-is-back') })
  } finally {
    limited?.kill('SIGKILL')
    await mesh.stop()
  }
})

test.run()
