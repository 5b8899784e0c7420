/** LocalMesh, the core tests' in-process network (trust-fixtures.ts), passes the Mesh suite */
import { test } from 'uvu'
import { runMeshTests } from './mesh-suite.js'
import { LocalNet, waitFor } from './core-cluster.js'

runMeshTests('LocalMesh', async () => {
  const net = new LocalNet()
  const meshes = ['peer-a', 'peer-b', 'peer-c'].map(id => net.add(id, () => true))
  return {
    meshes,
    until: async (what, predicate) => { await waitFor(predicate, what) },
    settle: async (promise) => await promise,
    kill: async (index) => { meshes[index].down = true; net.regate() },
    close: async () => {}
  }
})

test.run()
