// Order statistics the benches print: the p-th percentile by nearest rank, lower median for an even count.

/** the value at `p` percent (0–100) of `xs`, by nearest rank on a sorted copy; undefined for an empty list */
export const percentile = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor(p / 100 * s.length))]
}

/** the median of `xs` (the upper of the two middle values for an even count); undefined for an empty list */
export const median = (xs) => percentile(xs, 50)
