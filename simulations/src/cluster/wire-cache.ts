/**
 * Decoding and heartbeat checks, once per message for the whole
 * simulation. Every receiver of one gossip message gets the same
 * Uint8Array, so its decoded form is cached on that instance (a WeakMap:
 * gone with the message), and a heartbeat's signature verdict on the
 * decoded object. Sound because both are pure functions of immutable
 * input: the core never mutates a decoded message.
 */
import { decodeMessage, verifyHeartbeat, type HeartbeatMessage, type WireMessage } from '@minga/protocol'

/**
 * decoded wire messages and heartbeat verdicts cached by their bytes, shared by every simulated node (each message is decoded and verified once)
 */
export class WireCache {
  private readonly decoded = new WeakMap<Uint8Array, WireMessage | { failure: unknown }>()
  private readonly verdicts = new WeakMap<HeartbeatMessage, boolean>()
  decodes = 0
  verifies = 0

  readonly decode = (data: Uint8Array): WireMessage => {
    let hit = this.decoded.get(data)
    if (hit === undefined) {
      this.decodes++
      try {
        hit = decodeMessage(data)
      } catch (failure) {
        hit = { failure }
      }
      this.decoded.set(data, hit)
    }
    if ('failure' in hit) throw hit.failure
    return hit
  }

  readonly verifyHeartbeat = (meshId: string, heartbeat: HeartbeatMessage): boolean => {
    let verdict = this.verdicts.get(heartbeat)
    if (verdict === undefined) {
      this.verifies++
      verdict = verifyHeartbeat(meshId, heartbeat)
      this.verdicts.set(heartbeat, verdict)
    }
    return verdict
  }
}
