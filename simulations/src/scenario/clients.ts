/**
 * Clients of the routing mesh: `model.clients` request loops against the
 * published port of one node, each request on a new connection, one after
 * another with `model.pause` between them, each given up after
 * `model.timeout` — what test/src/ingress-client.ts's requestLoop does
 * against real nodes. The node they connect to (the entry) is the first
 * node, by index, that runs no replica of the service when the loops
 * start, so every answer crosses the mesh until a replica lands there.
 */
import { errorText } from '@minga/node/core'
import type { Cluster } from '../cluster/cluster.js'
import type { SimIngress } from '../cluster/ingress.js'
import type { SimNode } from '../cluster/sim-node.js'
import { ingressFigures, type IngressFigures, type RequestEvent } from '../measure/ingress.js'
import type { IngressModel } from './types.js'

/** digest codes of a request's outcome (core events count from 100, topics from 1) */
const ANSWERED = 90
const FAILED = 91

export class ClientLoops {
  readonly events: RequestEvent[] = []
  entry?: SimNode

  constructor (private readonly cluster: Cluster, private readonly ingress: SimIngress, private readonly model: IngressModel) {}

  /** start the loops at `model.from` */
  schedule (): void {
    const { sim } = this.cluster
    sim.at(sim.epoch + this.model.from, () => {
      const service = this.ingress.service
      this.entry = this.cluster.live.find(n => !n.running().some(r => r.service === service))
      if (this.entry === undefined) return
      for (let client = 0; client < this.model.clients; client++) void this.loop(this.entry, client)
    })
  }

  figures (): IngressFigures {
    return ingressFigures(this.events, {
      service: this.ingress.service,
      clients: this.model.clients,
      entry: this.entry === undefined ? null : { index: this.entry.index, id: this.entry.id }
    })
  }

  private async loop (entry: SimNode, client: number): Promise<void> {
    const { sim, digest } = this.cluster
    const { model } = this
    for (let seq = 0; sim.elapsed < model.until; seq++) {
      const event: RequestEvent = { client, start: sim.elapsed, end: 0, ok: false, attempts: [] }
      const controller = new AbortController()
      const timer = sim.after(model.timeout, () => { controller.abort(new Error(`No answer within ${model.timeout} ms`)) })
      try {
        event.node = await this.ingress.request(entry, { address: `100.64.${(client >> 8) & 255}.${client & 255}`, port: 1024 + (seq % 64_000) }, { attempts: event.attempts, signal: controller.signal })
        event.ok = true
      } catch (err) {
        event.error = errorText(err)
      } finally {
        timer.cancel()
      }
      event.end = sim.elapsed
      this.events.push(event)
      digest.add(sim.now(), entry.index, event.ok ? ANSWERED : FAILED)
      await sim.sleep(model.pause)
    }
  }
}
