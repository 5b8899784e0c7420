/**
 * Which replica a forwarded connection goes to: pure, so the daemon and the
 * simulator order candidates alike and tests pin every rule.
 *
 * A healthy replica on this node comes first (no hop over the mesh: +0.2 ms
 * on a new connection instead of +2.6 ms; docs/INGRESS.md), unless it
 * failed a forward recently: such nodes go last. Among the others, the one
 * with the fewest connections this node forwards to it (long-lived
 * connections — databases, websockets — count for as long as they last,
 * where round robin alone would pile them up), and ties rotate with `turn`
 * so that short connections spread evenly.
 */

export interface ReplicaLocation {
  /** peer id of the node that runs it */
  node: string
  replica: number
}

export interface ForwardOrderOptions {
  /** this node's peer id */
  self: string
  /** a counter the caller increments per connection: rotates among equals */
  turn: number
  /** connections this node forwards to each node now (absent: 0) */
  load?: ReadonlyMap<string, number>
  /** nodes that failed a forward recently: tried last */
  avoid?: ReadonlySet<string>
}

/**
 * The order in which to try `replicas` (healthy ones, as this node sees
 * them); each appears once. O(n log n)
 */
export function forwardOrder (replicas: readonly ReplicaLocation[], options: ForwardOrderOptions): ReplicaLocation[] {
  const n = replicas.length
  if (n === 0) return []
  const start = ((options.turn % n) + n) % n
  const rank = (r: ReplicaLocation, index: number): [number, number, number, number] => [
    options.avoid?.has(r.node) === true ? 1 : 0,
    r.node === options.self ? 0 : 1,
    options.load?.get(r.node) ?? 0,
    (index - start + n) % n
  ]
  return replicas
    .map((replica, index) => ({ replica, key: rank(replica, index) }))
    .sort((a, b) => a.key[0] - b.key[0] || a.key[1] - b.key[1] || a.key[2] - b.key[2] || a.key[3] - b.key[3])
    .map(item => item.replica)
}
