/**
 * A tiny mesh for planner tests: every step, each live node plans from the
 * same heartbeats (optionally some steps old) and its own containers, then
 * all actions are applied at once. Started containers become healthy after a
 * random number of steps. No network, no failures: what is left to check is
 * the planner's own logic.
 */
import { place, plan, replicaCount, reportOf } from '../src/index.js'
import type { Action, Assignment, DesiredService, LocalReplica, NodeInfo, PeerReplica } from '../src/index.js'
import { mulberry32 } from './fixtures.js'

interface SimContainer extends LocalReplica {
  /** steps until a starting container turns healthy */
  readyIn: number
}

export interface SimOptions {
  seed: number
  /** heartbeats seen are this many steps old */
  lag?: number
  /** a started container turns healthy within 0..maxStartSteps steps */
  maxStartSteps?: number
}

export class Sim {
  nodes: NodeInfo[]
  services: DesiredService[]
  readonly containers = new Map<string, SimContainer[]>()
  private readonly rand: () => number
  private readonly lag: number
  private readonly maxStartSteps: number
  private readonly history: Array<Map<string, PeerReplica[]>> = []
  private nextId = 0

  constructor (nodes: NodeInfo[], services: DesiredService[], options: SimOptions) {
    this.nodes = nodes
    this.services = services
    this.rand = mulberry32(options.seed)
    this.lag = options.lag ?? 0
    this.maxStartSteps = options.maxStartSteps ?? 3
    for (const n of nodes) this.containers.set(n.id, [])
  }

  assignment (): Assignment {
    return place(this.services, this.nodes)
  }

  heartbeats (): Map<string, PeerReplica[]> {
    return new Map([...this.containers].map(([node, cs]) => [node, cs.map(reportOf)]))
  }

  /** every node plans from one snapshot, then all actions apply */
  step (): Action[] {
    this.history.push(this.heartbeats())
    const peers = this.history[Math.max(0, this.history.length - 1 - this.lag)]
    const assignment = this.assignment()
    const planned = this.nodes.map(n => ({
      node: n.id,
      actions: plan({ self: n.id, services: this.services, assignment, observed: this.containers.get(n.id)!.map(strip), peers })
    }))
    for (const { node, actions } of planned) this.apply(node, actions)
    return planned.flatMap(p => p.actions)
  }

  /** health checks run: starting containers count down to healthy */
  progress (): void {
    for (const cs of this.containers.values()) {
      for (const c of cs) {
        if (c.health !== 'starting') continue
        if (c.readyIn <= 0) c.health = 'healthy'
        else c.readyIn--
      }
    }
  }

  /** distinct replica indices of a service served by a healthy container anywhere, any hash */
  available (service: DesiredService): number {
    const n = replicaCount(service.spec)
    const up = new Set<number>()
    for (const cs of this.containers.values()) {
      for (const c of cs) {
        if (c.service === service.id && c.replica < n && c.state === 'running' && c.health === 'healthy') up.add(c.replica)
      }
    }
    return up.size
  }

  /** each assigned replica runs once, healthy and current, on its owner; nothing else runs */
  converged (): boolean {
    const assignment = this.assignment()
    const want = new Map<string, string>()
    for (const s of this.services) {
      assignment.services[s.id].forEach((node, r) => { if (node !== null) want.set(`${s.id}#${r}#${s.hash}`, node) })
    }
    let count = 0
    for (const [node, cs] of this.containers) {
      for (const c of cs) {
        count++
        if (want.get(`${c.service}#${c.replica}#${c.hash}`) !== node || c.health !== 'healthy') return false
      }
    }
    return count === want.size
  }

  /** steps until converged; returns the steps taken, or -1 */
  settle (maxSteps: number, check: () => void = () => {}): number {
    for (let i = 0; i < maxSteps; i++) {
      if (this.converged()) return i
      this.step()
      check()
      this.progress()
      check()
    }
    return this.converged() ? maxSteps : -1
  }

  private apply (node: string, actions: Action[]): void {
    const cs = this.containers.get(node)!
    for (const a of actions) {
      if (a.type === 'stop') {
        const i = cs.findIndex(c => c.containerId === a.containerId)
        if (i < 0) throw new Error(`${node} stops unknown container ${a.containerId}`)
        cs.splice(i, 1)
      } else if (a.type === 'restart') {
        const c = cs.find(c => c.containerId === a.containerId)
        if (c === undefined) throw new Error(`${node} restarts unknown container ${a.containerId}`)
        Object.assign(c, { state: 'running', health: 'starting', readyIn: this.startSteps() })
      } else {
        cs.push({
          containerId: `c${this.nextId++}`,
          service: a.service,
          replica: a.replica,
          hash: a.hash,
          state: 'running',
          health: 'starting',
          readyIn: this.startSteps()
        })
      }
    }
  }

  private startSteps (): number {
    return Math.floor(this.rand() * (this.maxStartSteps + 1))
  }
}

function strip ({ readyIn, ...c }: SimContainer): LocalReplica {
  return c
}
