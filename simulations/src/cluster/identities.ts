/**
 * Node identities derived from the run's seed, so one seed gives the same
 * peer ids (and with them the same placements) every time. Real Ed25519
 * keys: the core signs and verifies exactly as in production.
 */
import { identityFromName, type Identity } from '@minga/protocol'

/** node `index`'s identity for `seed`, derived deterministically (one seed, the same peer ids) */
export async function simIdentity (seed: number, index: number): Promise<Identity> {
  return await identityFromName(`minga-sim/${seed}/${index}`)
}

/** the identities of `count` nodes for `seed` */
export async function simIdentities (seed: number, count: number): Promise<Identity[]> {
  const out: Identity[] = []
  for (let i = 0; i < count; i++) out.push(await simIdentity(seed, i))
  return out
}
