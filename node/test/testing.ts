/**
 * `@minga/node/testing`: what other packages' tests share with node's: the
 * Mesh conformance suite (the simulator's SimMesh passes it as Libp2pMesh
 * and LocalMesh do).
 */
export { runMeshTests, type MeshHarness } from './mesh-suite.js'
export { DAEMON_LIBRARIES, modulesLoadedBy } from './module-loads.js'
