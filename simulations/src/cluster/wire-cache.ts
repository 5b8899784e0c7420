/**
 * Decoding and signature checks, once per message for the whole
 * simulation. Every receiver of one gossip message gets the same
 * Uint8Array, so its decoded form is kept on that instance (a symbol-keyed
 * property: gone with the message, and cheaper than a WeakMap entry for
 * each of the ~4,000 messages a virtual second at 1,000 nodes, which the
 * collector treats as ephemerons); an alive update's verdict is cached by its
 * signature (every member learns every alive update, from many senders).
 * Sound because both are pure functions of immutable input: the core never
 * mutates a decoded message, and a signature verifies for one content only.
 */
import { decodeMessage, encodeChecked, verifyAlive, type AliveUpdate, type WireMessage } from '@minga/protocol'

/** the decoded form kept on a message's bytes */
const DECODED = Symbol('minga.sim.decoded')
type Decoded = WireMessage | { failure: unknown }
type Carrier = Uint8Array & { [DECODED]?: Decoded }

/**
 * decoded wire messages and alive verdicts, shared by every simulated node (each message is decoded and verified once)
 */
export class WireCache {
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
    ;(bytes as Carrier)[DECODED] = checked
    return bytes
  }

  readonly decode = (data: Uint8Array): WireMessage => {
    let hit = (data as Carrier)[DECODED]
    if (hit === undefined) {
      this.decodes++
      try {
        hit = decodeMessage(data)
      } catch (failure) {
        hit = { failure }
      }
      ;(data as Carrier)[DECODED] = hit
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
