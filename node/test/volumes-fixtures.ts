/** A VolumeKeeper on a test node of TestCluster (on the node's clock), with the backend and lineage a test gives it */
import { nodeLogger } from '../src/core/logger.js'
import { VolumeKeeper, type VolumeKeeperInit } from '../src/core/volumes/keeper.js'
import { MESH_ID, waitFor, type TestNode } from './core-cluster.js'

export function keeperOn (node: TestNode, parts: Pick<VolumeKeeperInit, 'backend' | 'lineage' | 'readers'> & Partial<VolumeKeeperInit>): VolumeKeeper {
  const { core } = node
  const keeper = new VolumeKeeper({
    identity: node.identity,
    meshId: MESH_ID,
    state: node.state,
    clock: core.clock,
    timing: core.timing,
    logger: nodeLogger(node.identity.peerId),
    mesh: node.mesh,
    liveness: core.membership,
    events: core.events,
    ...parts
  })
  keeper.start()
  return keeper
}

/**
 * The value of a promise whose work runs on the cluster's clock (mesh
 * requests, model durations, handoff polling): the clock is played until it
 * settles. Rejects as the promise does
 */
export async function settle<T> (promise: Promise<T>, what: string, timeoutMs = 600_000): Promise<T> {
  let outcome: { value: T } | { error: unknown } | undefined
  promise.then((value) => { outcome = { value } }, (error) => { outcome = { error } })
  await waitFor(() => outcome, what, timeoutMs)
  if (outcome !== undefined && 'error' in outcome) throw outcome.error
  return (outcome as { value: T }).value
}
