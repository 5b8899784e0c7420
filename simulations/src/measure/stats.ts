/** a distribution's figures, rounded as the summary shows them */
export interface Stats { n: number, mean: number, p50: number, p99: number, max: number }

/** count, mean, p50, p99 and max of `values` (ms), rounded */
export function stats (values: number[]): Stats {
  if (values.length === 0) return { n: 0, mean: 0, p50: 0, p99: 0, max: 0 }
  const sorted = [...values].sort((a, b) => a - b)
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]
  return { n: sorted.length, mean: round(sorted.reduce((a, b) => a + b, 0) / sorted.length), p50: round(at(0.5)), p99: round(at(0.99)), max: round(sorted[sorted.length - 1]) }
}

/** `x` rounded to `digits` decimals */
export function round (x: number, digits = 2): number {
  const f = 10 ** digits
  return Math.round(x * f) / f
}
