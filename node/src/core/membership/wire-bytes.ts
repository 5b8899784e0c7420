/**
 * What membership costs on the wire, by message type: the bytes of every
 * membership message this node sends, requests (ping, ping-req, gossip,
 * push-pull, replicas, report-request) and answers (ack, nack, replicas,
 * report) alike, counted where they leave the core (stream payload, before
 * libp2p's framing). libp2p's `libp2p_data_transfer_bytes_total` says how
 * much the membership protocol carries; this says which of its messages.
 */
import type { Mesh } from '../mesh.js'

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

/** the `type` of a wire message, read from its first bytes without parsing it */
export function messageType (data: Uint8Array): string {
  if (data.byteLength < PREFIX.length + 1) return 'other'
  for (let i = 0; i < PREFIX.length; i++) if (data[i] !== PREFIX[i]) return 'other'
  let type = ''
  for (let i = PREFIX.length; i < data.byteLength && i < PREFIX.length + MAX_TYPE_LENGTH; i++) {
    if (data[i] === QUOTE) return type
    type += String.fromCharCode(data[i])
  }
  return 'other'
}

/** `mesh`, with what goes out on `protocol` (requests and the answers of its handlers) counted into `bytes` */
export function countingMesh (mesh: Mesh, protocol: string, bytes: WireBytes): Mesh {
  return new Proxy(mesh, {
    get (target, property) {
      if (property === 'request') {
        return async (peer: string, to: string, data: Uint8Array, options?: Parameters<Mesh['request']>[3]) => {
          if (to === protocol) bytes.count(data)
          return await target.request(peer, to, data, options)
        }
      }
      if (property === 'handle') {
        return (to: string, handler: Parameters<Mesh['handle']>[1]) => {
          target.handle(to, to !== protocol
            ? handler
            : async (data, from) => {
              const answer = await handler(data, from)
              bytes.count(answer)
              return answer
            })
        }
      }
      const value = Reflect.get(target, property, target)
      return typeof value === 'function' ? value.bind(target) : value
    }
  })
}
