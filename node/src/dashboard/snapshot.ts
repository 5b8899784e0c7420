/**
 * What the dashboard shows, as one JSON document: the mesh's health, its
 * organizations and their nodes (state, capacity, allocation), its services
 * and where each replica runs, and recent events from every live node.
 * Mesh-wide events cost a request to every node, so they are gathered at
 * most every `eventsEveryMs` however many pages are open.
 */
import { logger } from '@libp2p/logger'
import { errorText } from '../core/logger.js'
import type { EventItem } from '../core/events/mesh-events.js'
import type { Operations } from '../core/ops/operations.js'
import type { StatusView } from '../core/ops/status-view.js'
import type { NodeView, ReplicaView, ServiceView } from '../core/ops/views.js'

/** what the dashboard reads: the operator's views and mesh-wide events */
export type DashboardOperations = Pick<Operations, 'now' | 'nodes' | 'ps' | 'services' | 'status' | 'gatherEvents'>

export interface DashboardSnapshot {
  time: number
  node: string
  org: string
  meshId: string
  status: StatusView
  orgs: Array<{ name: string, nodes: NodeView[] }>
  services: Array<ServiceView & { replicaViews: ReplicaView[] }>
  events: EventItem[]
}

const log = logger('minga:dashboard')
const EVENTS_SHOWN = 60
const EVENTS_WINDOW_MS = 3_600_000
const FIRST_EVENTS_WAIT_MS = 500

/** builds dashboard snapshots; mesh-wide events are gathered at most every `eventsEveryMs`, however many pages ask */
export class DashboardData {
  private events: EventItem[] = []
  private eventsAt = 0
  private gathering?: Promise<void>

  constructor (private readonly core: DashboardOperations, private readonly meshId: string, private readonly eventsEveryMs = 3000) {}

  async snapshot (): Promise<DashboardSnapshot> {
    const core = this.core
    await this.refreshEvents()
    const orgs = new Map<string, NodeView[]>()
    // one gathering of the nodes' reports serves all four views (membership keeps it a second)
    const [nodes, replicas, status, services] = await Promise.all([core.nodes(), core.ps(), core.status(), core.services()])
    for (const node of nodes) {
      if (node.revoked) continue
      const list = orgs.get(node.org) ?? []
      list.push(node)
      orgs.set(node.org, list)
    }
    return {
      time: core.now(),
      node: status.node,
      org: status.org,
      meshId: this.meshId,
      status,
      orgs: [...orgs].sort(([a], [b]) => a.localeCompare(b)).map(([name, nodes]) => ({ name, nodes })),
      services: services.map(s => ({ ...s, replicaViews: replicas.filter(r => r.service === s.id) })),
      events: this.events
    }
  }

  private async refreshEvents (): Promise<void> {
    const now = this.core.now()
    if (now - this.eventsAt < this.eventsEveryMs) return
    this.gathering ??= (async () => {
      try {
        const items = await this.core.gatherEvents({ since: now - EVENTS_WINDOW_MS, limit: EVENTS_SHOWN, signal: AbortSignal.timeout(5000) })
        this.events = items.filter(i => i.type === 'event').reverse()
        this.eventsAt = this.core.now()
      } catch (err) {
        // keep the last events; the next snapshot tries again
        log.error('gathering the mesh\'s events failed: %s', errorText(err))
      } finally {
        this.gathering = undefined
      }
    })()
    // the first page load waits a little for events (not for a slow node); later ones show the cached list while a gather runs
    if (this.eventsAt === 0) await Promise.race([this.gathering, new Promise(resolve => setTimeout(resolve, FIRST_EVENTS_WAIT_MS).unref())])
  }
}
