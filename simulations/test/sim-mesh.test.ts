/** the simulator's SimMesh, on virtual time over the modelled network, passes the Mesh suite */
import { test } from 'uvu'
import { VirtualClock } from '@minga/node/core'
import { runMeshTests } from '@minga/node/testing'
import { RunDigest } from '../src/engine/digest.js'
import { DEFAULT_NETWORK } from '../src/network/model.js'
import { Network } from '../src/network/network.js'

/** virtual ms a condition or a promise may take before the test fails */
const DEADLINE_MS = 120_000
const STEP_MS = 50

runMeshTests('SimMesh', async () => {
  const sim = new VirtualClock()
  const peerIds = ['sim-peer-a', 'sim-peer-b', 'sim-peer-c']
  const net = new Network({ sim, params: DEFAULT_NETWORK, seed: 7, peerIds, org: Int32Array.from([0, 0, 1]), region: Int32Array.from([0, 0, 0]), digest: new RunDigest() })
  const meshes = peerIds.map((_, v) => net.attach(v))
  const until = async (what: string, predicate: () => boolean | Promise<boolean>): Promise<void> => {
    const deadline = sim.now() + DEADLINE_MS
    while (!(await predicate())) {
      if (sim.now() >= deadline) throw new Error(`Gave up waiting (${DEADLINE_MS / 1000} s of virtual time): ${what}`)
      await sim.run(sim.now() + STEP_MS)
    }
  }
  return {
    meshes,
    until,
    settle: async <T>(promise: Promise<T>): Promise<T> => {
      let outcome: { ok: true, value: T } | { ok: false, error: unknown } | undefined
      promise.then(value => { outcome = { ok: true, value } }, (error: unknown) => { outcome = { ok: false, error } })
      await until('the call settles', () => outcome !== undefined)
      if (outcome === undefined || !outcome.ok) throw outcome?.error
      return outcome.value
    },
    kill: async (index) => { net.kill(index) },
    close: async () => {}
  }
})

test.run()
