/**
 * What the routing mesh needs to know of the node and the mesh: the
 * narrow interface between node/src/ingress and the core. The daemon binds
 * it to the replicated state, the reconciler's containers and membership;
 * tests to plain maps.
 */
import type { ServiceSpec } from '@minga/protocol'
import type { ReplicaLocation } from '../core/ingress/choose.js'
import type { RoutedService } from '../core/ingress/routes.js'

export interface IngressView {
  /** every service of the mesh, with its first-deploy stamp */
  services: () => RoutedService[]
  spec: (service: string) => ServiceSpec | undefined
  /** healthy replicas of `service`, as this node sees them */
  healthy: (service: string) => ReplicaLocation[]
  /** resolves when services or replicas may have changed; rejects when the signal aborts */
  changed: (signal: AbortSignal) => Promise<void>
  /** is `node` assigned or running a replica of `service`? */
  runsOn: (service: string, node: string) => boolean
  /** this node's running healthy replicas of `service`, with their address on the service network */
  local: (service: string) => Array<{ replica: number, address: string }>
  /** the service of this node's container at `address` on the service network */
  containerAt: (address: string) => string | undefined
}
