/** A VolumeKeeper on a test node of TestCluster, with the backend and lineage a test gives it */
import { systemClock } from '../src/core/clock.js'
import { VolumeKeeper, type VolumeKeeperInit } from '../src/core/volumes/keeper.js'
import { MESH_ID, type TestNode } from './trust-fixtures.js'

export function keeperOn (node: TestNode, parts: Pick<VolumeKeeperInit, 'backend' | 'lineage' | 'readers'> & Partial<VolumeKeeperInit>): VolumeKeeper {
  const keeper = new VolumeKeeper({
    identity: node.identity,
    meshId: MESH_ID,
    state: node.state,
    clock: systemClock,
    mesh: node.mesh,
    liveness: node.core.liveness,
    events: node.core.events,
    ...parts
  })
  keeper.start()
  return keeper
}
