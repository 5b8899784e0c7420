import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { State } from '@minga/protocol'
import { DataDir } from '../src/daemon/data-dir.js'
import { LevelPersistence } from '../src/store/level-persistence.js'
import { runUntilKilled } from './crash-child.js'

const child = fileURLToPath(new URL('./level-crash-child.js', import.meta.url))

/** runs the writer (or merger) until it has acknowledged `acks` entries, then kill -9; returns the acknowledged lines */
async function runAndKill (dir: string, acks: number, mode: 'write' | 'merge'): Promise<string[][]> {
  const acked: string[][] = []
  await runUntilKilled(child, [dir, mode], ([kind, ...rest]) => {
    if (kind === 'ack') acked.push(rest)
    return acked.length >= acks
  })
  return acked
}

// what a merge of a peer's entries resolved for (sync answers and anti-entropy marks count on it) must outlive the process too
for (const mode of ['write', 'merge'] as const) {
  test(`kill -9 during a burst of ${mode}s loses no acknowledged entry, in a loop`, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'minga-crash-'))
    const lastAcked = new Map<string, { seq: number, hlc: string }>()
    let total = 0
    for (let cycle = 0; cycle < 5; cycle++) {
      const acked = await runAndKill(dir, 20 + Math.floor(Math.random() * 80), mode)
      total += acked.length
      for (const [seq, key, hlc] of acked) lastAcked.set(key, { seq: Number(seq), hlc })
      const identity = await new DataDir(dir).identity()
      const state = await State.open({ meshId: 'crash', root: identity.peerId, persistence: new LevelPersistence(join(dir, 'state')), now: Date.now })
      for (const [key, { seq }] of lastAcked) {
        const held = state.get(key)
        assert.ok(held !== undefined && held.seq >= seq, `${key} seq ${seq} was acknowledged but is not held after a crash`)
      }
      const maxAcked = Math.max(...[...lastAcked.values()].map(v => v.seq))
      const author = mode === 'write' ? identity : await new DataDir(join(dir, 'peer')).identity()
      assert.ok(state.highWaterMarks()[author.peerId] >= maxAcked)
      await state.close()
    }
    assert.ok(total >= 100)
    await rm(dir, { recursive: true, force: true })
  })
}

test.run()
