/**
 * @packageDocumentation
 *
 * `@minga/node/setup`: what the `minga` CLI needs beyond the control API,
 * and nothing more. Creating a mesh and joining one write the data dir
 * before any node runs; `nodeProcess` runs the node in this process (`minga
 * up`). Everything else the CLI does goes through the control API.
 *
 * @example
 * ```ts
 * import { createMesh, nodeProcess } from '@minga/node/setup'
 * await createMesh('/var/lib/minga', 'acme')
 * const node = nodeProcess({ dataDir: '/var/lib/minga', log: console.error })
 * await node.start()
 * await node.stop()
 * ```
 */
import './polyfill.js'
import { Daemon, type DaemonOptions } from './daemon/daemon.js'
import { DataDir } from './daemon/data-dir.js'
import { initMesh, joinMesh as joinWith, type JoinOptions } from './daemon/setup.js'

export { parseHttpAddress, DEFAULT_HTTP_ADDRESS, type HttpAddress } from './daemon/http-server.js'
export { formatBytes, parseSize } from './backup/units.js'
export { parseAnnounce } from './host/announce.js'
export { decodeRecoveryKey } from '@minga/protocol'
export type { DaemonOptions as NodeOptions, JoinOptions }
export type { FolderLoader } from './gitops/git-reader.js'
export type { LoadedChangeSet } from './core/gitops/reader.js'

/** the node of one data dir, run in this process */
export interface NodeProcess {
  /** starts the node; rejects with DataDirError when the data dir holds no mesh, or this node was removed from it */
  start: () => Promise<void>
  /** stops what start() started, in reverse order; safe at any time */
  stop: () => Promise<void>
}

/**
 * `minga init`: a new mesh in `dataDir` with one organization, `org`, and
 * this server as its first node. BadRequestError for a bad org name or a
 * data dir that already holds a mesh
 */
export async function createMesh (dataDir: string, org: string): Promise<{ meshId: string, peerId: string, recoveryKey: string }> {
  return await initMesh(new DataDir(dataDir), org)
}

/**
 * `minga join`: knock at the doors the invite names, and store the state
 * the mesh answers with in `dataDir`. BadRequestError for a bad or expired
 * invite, JoinError when the mesh refuses
 */
export async function joinMesh (dataDir: string, options: JoinOptions): Promise<{ meshId: string, org: string, peerId: string, recoveryKey?: string }> {
  return await joinWith(new DataDir(dataDir), options)
}

/** `minga up`: the node of `options.dataDir`, ready to start */
export function nodeProcess (options: DaemonOptions): NodeProcess {
  const daemon = new Daemon(options)
  return { start: async () => { await daemon.start() }, stop: async () => { await daemon.stop() } }
}
