/**
 * Decoding and signature checks, once per message for the whole
 * simulation. Every receiver of one gossip message gets the same
 * Uint8Array, so its decoded form is cached on that instance (a WeakMap:
 * gone with the message); an alive update's verdict is cached by its
 * signature (every member learns every alive update, from many senders).
 * Sound because both are pure functions of immutable input: the core never
 * mutates a decoded message, and a signature verifies for one content only.
 */
import { decodeMessage, encodeChecked, verifyAlive, type AliveUpdate, type WireMessage } from '@minga/protocol'

/**
 * decoded wire messages and alive verdicts, shared by every simulated node (each message is decoded and verified once)
 */
export class WireCache {
  private readonly decoded = new WeakMap<Uint8Array, WireMessage | { failure: unknown }>()
  private readonly verdicts = new Map<string, boolean>()
  decodes = 0
  verifies = 0

  /**
   * The real encoder (checks, JSON, bytes: the traffic model counts them), and the checked copy it encoded becomes
   * the bytes' decoded form: what `decodeMessage` would return (the protocol's wire tests and this package's
   * codec test prove the round trip), without parsing what was just written
   */
  readonly encode = (message: WireMessage): Uint8Array => {
    const { bytes, message: checked } = encodeChecked(message)
    this.decoded.set(bytes, checked)
    return bytes
  }

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

  readonly verifyAlive = (meshId: string, update: AliveUpdate): boolean => {
    const key = `${update.node}/${update.inc}/${update.boot}/${update.sig}`
    let verdict = this.verdicts.get(key)
    if (verdict === undefined) {
      this.verifies++
      verdict = verifyAlive(meshId, update)
      this.verdicts.set(key, verdict)
    }
    return verdict
  }
}
