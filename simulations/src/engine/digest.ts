/**
 * The run's fingerprint: a running 64-bit hash (two FNV-1a lanes) of what
 * happened, in order: core events (time, node, kind) and network
 * deliveries (time, receiver, topic). Two runs with the same seed must end
 * with the same value; the determinism test holds the simulator to it.
 */

export class RunDigest {
  private lo = 0x811c9dc5
  private hi = 0x01000193
  count = 0

  add (time: number, node: number, kind: number): void {
    this.mixIn(time % 0x100000000)
    this.mixIn(Math.floor(time / 0x100000000))
    this.mixIn(node)
    this.mixIn(kind)
    this.count++
  }

  private mixIn (value: number): void {
    this.lo = Math.imul(this.lo ^ (value >>> 0), 0x01000193) >>> 0
    this.hi = Math.imul(this.hi ^ ((value >>> 0) + 0x9e3779b9), 0x5bd1e995) >>> 0
    this.hi = (this.hi ^ (this.lo >>> 7)) >>> 0
  }

  toString (): string {
    return this.hi.toString(16).padStart(8, '0') + this.lo.toString(16).padStart(8, '0')
  }
}
