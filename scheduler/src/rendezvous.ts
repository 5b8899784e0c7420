/**
 * One holder for a duty among candidates (e.g. which node of an
 * organization watches its git source): highest-random-weight (rendezvous)
 * hashing, Thaler and Ravishankar 1998. Every node that sees the same
 * candidates picks the same one; when it goes, only the duties it held
 * move, each to its next candidate in order.
 */
import { fmix32, hashString } from './hash.js'
import { compareStrings } from './order.js'

/** the candidates in rendezvous order for `duty`, first = the holder; ties (never in practice) by id */
export function rendezvousOrder (duty: string, candidates: readonly string[]): string[] {
  const key = hashString(duty)
  const scored = [...new Set(candidates)].map(id => ({ id, score: fmix32(hashString(id) ^ key) }))
  scored.sort((a, b) => b.score - a.score || compareStrings(a.id, b.id))
  return scored.map(s => s.id)
}

/** the holder of `duty` among `candidates`, or undefined when there are none */
export function rendezvousChoice (duty: string, candidates: readonly string[]): string | undefined {
  return rendezvousOrder(duty, candidates)[0]
}
