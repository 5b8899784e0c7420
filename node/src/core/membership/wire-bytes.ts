/**
 * What membership costs on the wire, by message type: the bytes of every
 * membership message this node sends, requests (ping, ping-req, gossip,
 * push-pull, replicas, report-request) and answers (ack, nack, replicas,
 * report) alike, counted where they leave the core (stream payload, before
 * libp2p's framing). libp2p's `libp2p_data_transfer_bytes_total` says how
 * much the membership protocol carries; this says which of its messages.
 */
import type { Mesh, ProbeResult } from '../mesh.js'

/** `{"type":"` — every wire message is JSON with its type first (protocol's encodeMessage) */
const PREFIX = [0x7b, 0x22, 0x74, 0x79, 0x70, 0x65, 0x22, 0x3a, 0x22]
const QUOTE = 0x22
const MAX_TYPE_LENGTH = 24

/** bytes sent per message type (a message that is not `{"type":"…"` counts as `other`) */
export class WireBytes {
  private readonly sent = new Map<string, number>()

  /** counts `data` under its message type */
  count (data: Uint8Array): void {
    const type = messageType(data)
    this.sent.set(type, (this.sent.get(type) ?? 0) + data.byteLength)
  }

  /** message type → bytes sent since start */
  totals (): ReadonlyMap<string, number> {
    return this.sent
  }
}

/** types read so far, by length: a message's type is found among them without building a string (every message counts) */
const known = new Map<number, string[]>()

/** the `type` of a wire message, read from its first bytes without parsing it */
export function messageType (data: Uint8Array): string {
  if (data.byteLength < PREFIX.length + 1) return 'other'
  for (let i = 0; i < PREFIX.length; i++) if (data[i] !== PREFIX[i]) return 'other'
  let end = PREFIX.length
  const limit = Math.min(data.byteLength, PREFIX.length + MAX_TYPE_LENGTH)
  while (end < limit && data[end] !== QUOTE) end++
  if (end === limit) return 'other'
  const length = end - PREFIX.length
  const seen = known.get(length) ?? []
  for (const type of seen) if (sameBytes(type, data, PREFIX.length)) return type
  const type = String.fromCharCode(...data.subarray(PREFIX.length, end))
  // a handful of types exist; a peer sending made-up ones is not remembered beyond a few per length
  if (seen.length < 16) known.set(length, [...seen, type])
  return type
}

function sameBytes (type: string, data: Uint8Array, at: number): boolean {
  for (let i = 0; i < type.length; i++) if (type.charCodeAt(i) !== data[at + i]) return false
  return true
}

/**
 * `mesh`, with what goes out on `protocol` (requests and the answers of its handlers) counted into `bytes`; every other
 * call passes straight through, read from `mesh` at each call (a mesh whose methods change is followed). Each request
 * gets the mesh's own promise, not one more async layer around it: every probe, gossip and record passes here
 */
export function countingMesh (mesh: Mesh, protocol: string, bytes: WireBytes): Mesh {
  const probe = (peer: string): Promise<ProbeResult> => mesh.probe!(peer)
  const probePort = (peer: string): Promise<ProbeResult> => mesh.probePort!(peer)
  const connectedTo = (peer: string): boolean => mesh.connectedTo!(peer)
  return {
    get self () { return mesh.self },
    publish: (topic, data) => { mesh.publish(topic, data) },
    subscribe: (topic, handler) => mesh.subscribe(topic, handler),
    request: (peer, to, data, options) => {
      if (to === protocol) bytes.count(data)
      return mesh.request(peer, to, data, options)
    },
    handle: (to, handler) => {
      mesh.handle(to, to !== protocol
        ? handler
        : (data, from) => handler(data, from).then((answer) => {
            bytes.count(answer)
            return answer
          }))
    },
    stream: (peer, to, data, options) => mesh.stream(peer, to, data, options),
    handleStream: (to, handler) => { mesh.handleStream(to, handler) },
    connections: () => mesh.connections(),
    get connectedTo () { return mesh.connectedTo === undefined ? undefined : connectedTo },
    get connectionLimit () { return mesh.connectionLimit },
    onPeer: (listener) => mesh.onPeer(listener),
    get probe () { return mesh.probe === undefined ? undefined : probe },
    get probePort () { return mesh.probePort === undefined ? undefined : probePort }
  }
}
