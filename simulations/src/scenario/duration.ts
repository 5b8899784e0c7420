/** measured times for people: `850 ms`, `2.3 s`, `4.5 min`, `1.2 h` (files and flags use the grammar of @minga/protocol's duration.ts) */
export function formatDuration (ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`
  if (ms < 120_000) return `${Math.round(ms / 100) / 10} s`
  if (ms < 7_200_000) return `${Math.round(ms / 6000) / 10} min`
  return `${Math.round(ms / 360_000) / 10} h`
}
