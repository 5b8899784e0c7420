/**
 * Publishing on a gossipsub topic, in O(receivers) per message.
 *
 * Eager push: the first copy reaches each node along the shortest path of
 * the topic's overlay (paths.ts), paying link latency, per-hop processing
 * and serialization (bytes / bandwidth) on every hop. Loss: a copy survives
 * a path of h hops with probability (1 − loss)^h; when the first copy is
 * lost, another mesh peer's copy arrives about one hop later, unless all
 * deg(v) copies are lost; then lazy gossip recovers it: at a neighbour's
 * next heartbeat (uniform within 1 s) an IHAVE, an IWANT and the message
 * cross one link each, and this is tried for `historyGossip` heartbeats
 * before the copy counts as lost.
 *
 * Traffic: every overlay link carries a message once (gossipsub 1.2's
 * IDONTWANT suppresses echoes), so a node sends and receives about
 * deg(v)/2 copies of every message, and announces it in IHAVEs to Dlazy
 * peers.
 *
 * Deliveries are scheduled as one cursor event per distinct millisecond,
 * not one heap entry per receiver.
 */
import type { ModelledNetwork } from './modelled.js'

/**
 * delivers one gossip message from node `source` on `topic` to every node its overlay reaches, with the modelled latency, loss and traffic (see above)
 */
export function publishGossip (net: ModelledNetwork, source: number, topic: string, data: Uint8Array): void {
  const { params, sim, traffic, links } = net
  const overlay = net.overlay(topic)
  const tree = net.paths.tree(topic, overlay, source, net.reach)
  const size = data.length
  const ser = links.serialization(size)
  const sourceDegree = overlay.degree(source)
  traffic.send(source, sourceDegree, sourceDegree * size)
  const { loss, gossip } = params
  const t0 = sim.now()
  const count = tree.order.length
  const times = new Float64Array(count)
  const who = new Int32Array(count)
  let kept = 0
  for (let i = 0; i < count; i++) {
    const v = tree.order[i]
    const hops = tree.hops[i]
    let t = tree.delay[i] + hops * ser
    if (loss > 0) {
      const hop = tree.delay[i] / Math.max(1, hops)
      const pathLost = 1 - Math.pow(1 - loss, hops)
      if (net.random.next() < pathLost) {
        const others = overlay.degree(v) - 1
        if (others > 0 && net.random.next() >= Math.pow(pathLost, others)) {
          t += hop
        } else {
          let recovered = false
          for (let attempt = 1; attempt <= gossip.historyGossip && !recovered; attempt++) {
            t += net.random.next() * gossip.heartbeat + 3 * hop
            recovered = net.random.next() < Math.pow(1 - loss, 3)
          }
          if (!recovered) { traffic.lost++; continue }
          traffic.recovered++
        }
      }
    }
    times[kept] = t0 + t
    who[kept] = v
    kept++
  }
  sortNearlySorted(times, who, kept)
  const code = net.topicCode(topic)
  const from = net.peerIds[source]
  const sourceGroup = net.group[source]
  let cursor = 0
  const step = (): void => {
    const now = sim.now()
    while (cursor < kept && Math.ceil(times[cursor]) <= now) {
      const v = who[cursor++]
      const mesh = net.meshes[v]
      if (mesh === undefined || net.group[v] !== sourceGroup) continue
      const degree = overlay.degree(v)
      const copies = Math.max(1, degree / 2)
      traffic.receive(v, copies, copies * size + gossip.Dlazy * gossip.idBytes)
      traffic.send(v, copies - 1, (copies - 1) * size + gossip.Dlazy * gossip.idBytes)
      traffic.deliveries++
      net.digest.add(now, v, code)
      mesh.deliver(topic, data, from)
    }
    if (cursor < kept) sim.at(times[cursor], step)
  }
  if (kept > 0) sim.at(times[0], step)
}

/** insertion sort of (times, who) by time: the tree order is already almost sorted */
function sortNearlySorted (times: Float64Array, who: Int32Array, count: number): void {
  for (let i = 1; i < count; i++) {
    const t = times[i]
    if (t >= times[i - 1]) continue
    const w = who[i]
    let j = i - 1
    while (j >= 0 && times[j] > t) { times[j + 1] = times[j]; who[j + 1] = who[j]; j-- }
    times[j + 1] = t
    who[j + 1] = w
  }
}
