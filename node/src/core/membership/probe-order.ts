/**
 * Which member to probe next: every member once per round, in a fresh
 * random order each round (SWIM's round-robin probe order, which bounds the
 * time until a failed member is first probed). The order is an affine
 * permutation of the member list's indices, `(offset + i × step) mod n` with
 * `step` coprime to n, so it costs no memory per member (10,000 simulated
 * nodes of 10,000 members each). Members asked for out of turn (a
 * suspicion to confirm, a connection that closed) come first.
 */
export class ProbeOrder {
  private ids: readonly string[] = []
  private offset = 0
  private step = 1
  private at = 0
  private readonly urgent = new Set<string>()

  constructor (private readonly random: () => number) {}

  /** probe this member next, before the round goes on */
  hurry (node: string): void {
    this.urgent.add(node)
  }

  /** the next member of `ids` that `eligible` accepts, or undefined when none is */
  next (ids: readonly string[], eligible: (node: string) => boolean): string | undefined {
    for (const node of this.urgent) {
      this.urgent.delete(node)
      if (eligible(node)) return node
    }
    if (ids !== this.ids) this.restart(ids)
    const n = ids.length
    for (let tried = 0; tried <= n; tried++) {
      if (this.at >= n) this.restart(ids)
      const node = ids[(this.offset + this.at * this.step) % n]
      this.at++
      if (eligible(node)) return node
    }
    return undefined
  }

  private restart (ids: readonly string[]): void {
    this.ids = ids
    const n = ids.length
    this.at = 0
    this.offset = Math.floor(this.random() * n)
    this.step = 1
    if (n < 3) return
    for (let tries = 0; tries < 16; tries++) {
      const step = 1 + Math.floor(this.random() * (n - 1))
      if (gcd(step, n) === 1) { this.step = step; return }
    }
  }
}

function gcd (a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b]
  return a
}

/**
 * Up to `k` distinct members of `ids` that `eligible` accepts, at random
 * (memberlist kRandomNodes: a bounded number of tries, so a mesh of mostly
 * ineligible members costs no more than 3k draws per pick)
 */
export function randomMembers (ids: readonly string[], k: number, eligible: (node: string) => boolean, random: () => number): string[] {
  const out: string[] = []
  const n = ids.length
  if (n === 0 || k <= 0) return out
  if (n <= 3 * k) {
    // a small mesh: look at every member, in random order
    const order = ids.slice()
    for (let i = 0; i < n && out.length < k; i++) {
      const j = i + Math.floor(random() * (n - i))
      const node = order[j]
      order[j] = order[i]
      if (eligible(node)) out.push(node)
    }
    return out
  }
  for (let tries = 0; tries < 3 * n && tries < 3 * k + 64 && out.length < k; tries++) {
    const node = ids[Math.floor(random() * n)]
    if (!out.includes(node) && eligible(node)) out.push(node)
  }
  return out
}
