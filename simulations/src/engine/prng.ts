/**
 * A seeded pseudo-random generator (sfc32, seeded through splitmix32), so
 * one seed gives one run. `fork(label)` derives an independent stream from
 * the seed and a label without drawing from the parent: adding a consumer
 * of randomness never shifts the numbers the others see.
 */

export class Prng {
  private a: number
  private b: number
  private c: number
  private d: number

  constructor (readonly seed: number, label = '') {
    let s = (hashString(label) ^ Math.imul(seed | 0, 0x9e3779b1) ^ Math.floor(seed / 0x100000000)) >>> 0
    const next = (): number => {
      s = (s + 0x9e3779b9) >>> 0
      let z = s
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b)
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35)
      return (z ^ (z >>> 16)) >>> 0
    }
    this.a = next(); this.b = next(); this.c = next(); this.d = next()
    for (let i = 0; i < 12; i++) this.uint32()
  }

  fork (label: string): Prng {
    return new Prng(this.seed, `${label}`)
  }

  uint32 (): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0
    this.d = (this.d + 1) | 0
    this.a = this.b ^ (this.b >>> 9)
    this.b = (this.c + (this.c << 3)) | 0
    this.c = (this.c << 21) | (this.c >>> 11)
    this.c = (this.c + t) | 0
    return t >>> 0
  }

  /** uniform in [0, 1) */
  next (): number {
    return this.uint32() / 4294967296
  }

  /** uniform integer in [0, n) */
  int (n: number): number {
    return Math.floor(this.next() * n)
  }

  pick<T> (items: readonly T[]): T {
    return items[this.int(items.length)]
  }

  /** in place, Fisher–Yates */
  shuffle<T> (items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1)
      const tmp = items[i]; items[i] = items[j]; items[j] = tmp
    }
    return items
  }

  /** standard normal (Box–Muller) */
  normal (): number {
    const u = 1 - this.next()
    const v = this.next()
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v)
  }

  /** log-normal with this median and shape sigma */
  lognormal (median: number, sigma: number): number {
    return median * Math.exp(sigma * this.normal())
  }

  /** exponential with this mean */
  exponential (mean: number): number {
    return -mean * Math.log(1 - this.next())
  }
}

/** 32-bit FNV-1a of a string */
export function hashString (text: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

/** a well-mixed 32-bit hash of integers, for values that must not need storage (per-link latency) */
export function mix (a: number, b: number, c = 0): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b ^ 0xc2b2ae35, 0x27d4eb2f) ^ Math.imul(c ^ 0x165667b1, 0x9e3779b1)
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d)
  h = Math.imul(h ^ (h >>> 12), 0x297a2d39)
  return (h ^ (h >>> 15)) >>> 0
}

/** uniform (0, 1) from a 32-bit hash */
export function unit (hash: number): number {
  return (hash + 0.5) / 4294967296
}
