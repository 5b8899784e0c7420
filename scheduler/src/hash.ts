/**
 * Fast, portable hashing for rendezvous placement. Every operation here is
 * integer arithmetic or IEEE-754 `+ - * /`, which JavaScript defines exactly,
 * so every node computes bit-identical scores (Math.log is avoided on purpose:
 * the language does not pin its last bit).
 */

/** murmur3's 32-bit finalizer: a bijection on uint32 with full avalanche */
export function fmix32 (h: number): number {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

/** FNV-1a over UTF-16 code units, finished with fmix32 */
export function hashString (s: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return fmix32(h)
}

/** hash of one replica of one service: independent of the spec, so updates never move replicas */
export function replicaHash (serviceId: string, replica: number): number {
  return hashString(`${serviceId}\u0000${replica}`)
}

// 2^-e for e in -1..31, indexed by e + 1
const POW2_NEG = Array.from({ length: 33 }, (_, i) => 2 ** -(i - 1))
const LN2 = 0.6931471805599453

/**
 * -ln(u) for u = (h + 0.5) / 2^32, h a uint32: the exponential variate that
 * weighted rendezvous hashing divides by a node's weight. Decreasing in h and
 * always > 0. ln of the mantissa comes from the atanh series (error below 1.2e-6),
 * which is ample: the scores only need to be identical everywhere, not exact.
 */
export function negLogUnit (h: number): number {
  const e = h === 0 ? -1 : 31 - Math.clz32(h)
  const m = (h + 0.5) * POW2_NEG[e + 1]
  const t = (m - 1) / (m + 1)
  const t2 = t * t
  const lnm = 2 * t * (1 + t2 * (1 / 3 + t2 * (1 / 5 + t2 * (1 / 7 + t2 / 9))))
  return (32 - e) * LN2 - lnm
}

/** `negLogUnit(h) >= NEG_LOG_FLOOR[h >>> FLOOR_SHIFT]` for every uint32 h */
export const FLOOR_SHIFT = 20
/**
 * A cheap lower bound of negLogUnit per bucket of h, so the placement loop
 * can drop most nodes without computing the logarithm. The margin covers the
 * last-ulp wobble of the rounded series; the bound only needs to be low.
 */
export const NEG_LOG_FLOOR = Float64Array.from({ length: 2 ** (32 - FLOOR_SHIFT) }, (_, k) =>
  negLogUnit((k + 1) * 2 ** FLOOR_SHIFT - 1) - 1e-9)
