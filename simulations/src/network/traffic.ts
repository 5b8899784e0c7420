/**
 * Messages and bytes each node sent and received, in total and per sample
 * window, for the bandwidth figures. Gossip copies are fractional: see
 * gossip.ts for how copies per link are counted.
 */

export class Traffic {
  readonly msgsOut: Float64Array
  readonly msgsIn: Float64Array
  readonly bytesOut: Float64Array
  readonly bytesIn: Float64Array
  /** every delivery of a gossip message to a node */
  deliveries = 0
  /** gossip copies a receiver missed entirely (lost eagerly and in lazy gossip) */
  lost = 0
  /** gossip copies recovered through IHAVE/IWANT */
  recovered = 0
  requests = 0
  /** requests and streams that had to dial first (no connection to the peer open) */
  dials = 0
  /** bytes sent by all nodes since the last `window()` */
  private windowBytes = 0

  constructor (n: number) {
    this.msgsOut = new Float64Array(n)
    this.msgsIn = new Float64Array(n)
    this.bytesOut = new Float64Array(n)
    this.bytesIn = new Float64Array(n)
  }

  send (v: number, messages: number, bytes: number): void {
    this.msgsOut[v] += messages
    this.bytesOut[v] += bytes
    this.windowBytes += bytes
  }

  receive (v: number, messages: number, bytes: number): void {
    this.msgsIn[v] += messages
    this.bytesIn[v] += bytes
  }

  /** bytes sent mesh-wide since the previous call */
  window (): number {
    const bytes = this.windowBytes
    this.windowBytes = 0
    return bytes
  }
}
