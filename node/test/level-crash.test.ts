import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { decodeIdentity, State } from '@minga/protocol'
import { LevelPersistence } from '../src/store/level-persistence.js'

const child = fileURLToPath(new URL('./level-crash-child.js', import.meta.url))

/** runs the writer until it has acknowledged `acks` entries, then kill -9; returns the acknowledged lines */
async function runAndKill (dir: string, acks: number): Promise<string[][]> {
  const proc = spawn(process.execPath, [child, dir], { stdio: ['ignore', 'pipe', 'inherit'] })
  const acked: string[][] = []
  let buffer = ''
  await new Promise<void>((resolve) => {
    proc.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString()
      const lines = buffer.split('\n')
      buffer = lines.pop()!
      for (const line of lines) {
        if (line.startsWith('ack ')) acked.push(line.split(' ').slice(1))
        if (acked.length >= acks && proc.exitCode === null) proc.kill('SIGKILL')
      }
    })
    proc.on('exit', () => resolve())
  })
  return acked
}

test('kill -9 during a burst of writes loses no acknowledged entry, in a loop', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'minga-crash-'))
  const lastAcked = new Map<string, { seq: number, hlc: string }>()
  let total = 0
  for (let cycle = 0; cycle < 5; cycle++) {
    const acked = await runAndKill(dir, 20 + Math.floor(Math.random() * 80))
    total += acked.length
    for (const [seq, key, hlc] of acked) lastAcked.set(key, { seq: Number(seq), hlc })
    const identity = decodeIdentity(await readFile(join(dir, 'node.key')))
    const state = await State.open({ meshId: 'crash', root: identity.peerId, persistence: new LevelPersistence(join(dir, 'state')), now: Date.now })
    for (const [key, { seq }] of lastAcked) {
      const held = state.get(key)
      assert.ok(held !== undefined && held.seq >= seq, `${key} seq ${seq} was acknowledged but is not held after a crash`)
    }
    const maxAcked = Math.max(...[...lastAcked.values()].map(v => v.seq))
    assert.ok(state.highWaterMarks()[identity.peerId] >= maxAcked)
    await state.close()
  }
  assert.ok(total >= 100)
  await rm(dir, { recursive: true, force: true })
})

test.run()
