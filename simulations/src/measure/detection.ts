/**
 * How well the failure detector judges: for every node that failed, how
 * long until a live node declared it dead (a crash: its host refuses
 * connections; a silent loss: nothing answers); and every declaration of
 * death or suspicion about a node whose process ran and could be reached
 * (a false positive), apart from those about nodes whose CPU was stalled
 * or slowed just before (a node that answers nothing for seconds cannot be
 * told from a dead one).
 */
import type { MeshEvent } from '@minga/node'
import type { Cluster } from '../cluster/cluster.js'
import type { SimNode } from '../cluster/sim-node.js'
import { stats, type Stats } from './stats.js'

export interface DetectionFigures {
  /** kill → first node-dead about it, for crashed processes and for hosts that went silent */
  crashDetectMs: Stats
  silentDetectMs: Stats
  /** node-dead events about a node that ran and was reachable from the observer */
  falseDeaths: number
  /** node-suspect events about such a node (refuted, or not) */
  falseSuspicions: number
  /** the same, about nodes stalled or slowed within the last 30 s */
  deathsOfStalled: number
  examples: string[]
}

/** a stall or slowness this recent excuses a false verdict about the node */
const EXCUSE_MS = 30_000
const EXAMPLES = 10

export class DetectionWatch {
  private readonly killed = new Map<string, { at: number, silent: boolean }>()
  private readonly impaired = new Map<string, number>()
  private readonly crash: number[] = []
  private readonly silent: number[] = []
  private readonly figures = { falseDeaths: 0, falseSuspicions: 0, deathsOfStalled: 0, examples: [] as string[] }

  constructor (private readonly cluster: Cluster) {
    const byId = new Map(cluster.nodes.map(n => [n.id, n]))
    cluster.onEvent((observer, event) => {
      if (event.kind === 'node-dead' || event.kind === 'node-suspect') this.judge(observer, byId.get(event.subject), event)
    })
  }

  /** the node's process died (`silent`: its host went too) */
  killedNow (node: SimNode, silent: boolean): void {
    this.killed.set(node.id, { at: this.cluster.sim.now(), silent })
  }

  /** the node's CPU stalls, or its messages slow down, until `until` */
  impairedUntil (node: SimNode, until: number): void {
    this.impaired.set(node.id, Math.max(this.impaired.get(node.id) ?? 0, until))
  }

  result (): DetectionFigures {
    return { crashDetectMs: stats(this.crash), silentDetectMs: stats(this.silent), ...this.figures }
  }

  private judge (observer: SimNode, subject: SimNode | undefined, event: MeshEvent): void {
    if (subject === undefined) return
    const now = this.cluster.sim.now()
    const kill = this.killed.get(subject.id)
    if (kill !== undefined && !subject.up) {
      if (event.kind === 'node-dead') {
        this.killed.delete(subject.id)
        ;(kill.silent ? this.silent : this.crash).push(now - kill.at)
      }
      return
    }
    if (!subject.up || !this.cluster.net.reachable(observer.index, subject.index)) return
    if ((this.impaired.get(subject.id) ?? -Infinity) + EXCUSE_MS > now) {
      if (event.kind === 'node-dead') this.figures.deathsOfStalled++
      return
    }
    if (event.kind === 'node-suspect') { this.figures.falseSuspicions++; return }
    this.figures.falseDeaths++
    if (this.figures.examples.length < EXAMPLES) this.figures.examples.push(`${new Date(now).toISOString()} ${observer.id.slice(-8)} declared ${subject.id.slice(-8)} dead: ${event.reason}`)
  }
}
