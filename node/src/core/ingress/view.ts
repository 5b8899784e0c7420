/**
 * What the routing mesh reads of the mesh, from the core's own components:
 * the replicated service specs, which replicas run healthy where (this
 * node's containers, the peers' reports), and when any of that changes. The
 * daemon's forwarder (node/src/ingress/) reads it, and so does the
 * simulator's model of forwarded connections (simulations/src/cluster/ingress.ts).
 */
import { keys, type ServiceSpec, type State } from '@minga/protocol'
import type { LiveSet, ReplicaReports, ReconcileView } from '../components.js'
import type { ReplicaLocation } from './choose.js'
import type { RoutedService } from './routes.js'

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

export interface MeshRouteViewComponents {
  /** this node's peer id */
  self: string
  state: Pick<State, 'records' | 'value' | 'subscribe'>
  liveness: Pick<LiveSet, 'live' | 'onChange'> & Pick<ReplicaReports, 'reportsFor'>
  reconciler: Pick<ReconcileView, 'containers' | 'currentAssignment' | 'onContainers'>
}

/** `IngressView` over the core: start() subscribes to the state, liveness and this node's containers; stop() lets go */
export class MeshRouteView implements IngressView {
  private readonly waiters = new Set<() => void>()
  private readonly unsubscribe: Array<() => void> = []

  constructor (private readonly components: MeshRouteViewComponents) {}

  start (): void {
    const { state, liveness, reconciler } = this.components
    this.unsubscribe.push(
      state.subscribe((applied) => { if (applied.some(e => e.key.startsWith('service/'))) this.wake() }),
      liveness.onChange((change) => { if (change.status || change.services.size > 0) this.wake() }),
      reconciler.onContainers(() => this.wake())
    )
  }

  stop (): void {
    for (const off of this.unsubscribe.splice(0)) off()
    this.wake()
  }

  services (): RoutedService[] {
    return this.components.state.records('service').map(entry => ({ id: `${entry.value.spec.org}/${entry.value.spec.name}`, spec: entry.value.spec, created: entry.value.created }))
  }

  spec (service: string): ServiceSpec | undefined {
    const [org, name] = service.split('/')
    if (org === undefined || name === undefined) return undefined
    return this.components.state.value(keys.service(org, name))?.spec
  }

  /**
   * Healthy replicas as this node's reports say. Replica records reach only
   * the nodes concerned with a service (core/membership/replica-records.ts);
   * a node that hears none of a service (it neither runs nor is assigned
   * it) offers the live nodes the assignment gives it — every node computes
   * the same — and each of those refuses a forward for a replica it does not
   * serve healthy, so the next one is tried
   */
  healthy (service: string): ReplicaLocation[] {
    const { self, liveness, reconciler } = this.components
    const out: ReplicaLocation[] = this.local(service).map(r => ({ node: self, replica: r.replica }))
    const live = new Set(liveness.live())
    const reports = liveness.reportsFor(service)
    if (reports.size === 0) {
      reconciler.currentAssignment().services[service]?.forEach((node, replica) => {
        if (node !== null && node !== self && live.has(node)) out.push({ node, replica })
      })
      return out
    }
    for (const [node, held] of reports) {
      if (node === self || !live.has(node)) continue
      const served = new Set<number>()
      for (const report of held) {
        // a rolling update serves a replica with its old copy and its new one: once is enough here
        if (report.healthy && !served.has(report.replica)) { served.add(report.replica); out.push({ node, replica: report.replica }) }
      }
    }
    return out
  }

  async changed (signal: AbortSignal): Promise<void> {
    signal.throwIfAborted()
    await new Promise<void>((resolve, reject) => {
      const wake = (): void => { signal.removeEventListener('abort', onAbort); resolve() }
      const onAbort = (): void => { this.waiters.delete(wake); reject(signal.reason) }
      this.waiters.add(wake)
      signal.addEventListener('abort', onAbort, { once: true })
    })
  }

  runsOn (service: string, node: string): boolean {
    const { self, liveness, reconciler } = this.components
    if (reconciler.currentAssignment().services[service]?.includes(node) === true) return true
    if (node === self) return reconciler.containers().some(c => c.service === service && c.state !== 'exited')
    return (liveness.reportsFor(service).get(node)?.length ?? 0) > 0
  }

  local (service: string): Array<{ replica: number, address: string }> {
    const out: Array<{ replica: number, address: string }> = []
    for (const c of this.components.reconciler.containers()) {
      if (c.service !== service || c.state !== 'running' || c.address === undefined) continue
      if (c.health !== 'healthy' && c.health !== 'none') continue
      if (!out.some(o => o.replica === c.replica)) out.push({ replica: c.replica, address: c.address })
    }
    return out
  }

  containerAt (address: string): string | undefined {
    return this.components.reconciler.containers().find(c => c.address === address && c.state === 'running')?.service
  }

  private wake (): void {
    const waiters = [...this.waiters]
    this.waiters.clear()
    for (const wake of waiters) wake()
  }
}
