/**
 * The real membership past the connection limit, on real libp2p hosts over
 * TCP (real-members.ts): more live members than a host keeps connections, so
 * a probe of an unconnected member dials, and the trim closes connections
 * again. The mesh must still meet, see a kill everywhere, and end with every
 * live member alive in every table (a member the loaded machine got declared
 * dead must have refuted it). `npm run bench -- membership-past-limit` measures
 * the same, at more members, for what it costs.
 */
import '../src/polyfill.js'
import { test } from 'uvu'
import { waitFor } from './core-cluster.js'
import { learnAddresses, listing, realHosts, startMembership, stopMember } from './real-members.js'

const N = 14
const KEEP = 6

test(`${N} real members keeping ${KEEP} connections each: they meet, a kill is seen by every survivor, every live member ends alive everywhere`, async () => {
  const members = await realHosts(N, KEEP)
  const ids = members.map(m => m.identity.peerId).sort()
  const heard = members.map(() => new Set<string>())
  try {
    await learnAddresses(members, members.map(listing))
    for (const [i, member] of members.entries()) startMembership(member, ids, { heard: (peer) => { heard[i].add(peer) } })
    await waitFor(() => heard.every(h => h.size === N - 1), 'every member has heard from every other', 120_000)
    // past the limit: the trims close connections idle for their 5 s grace (a probe round of 13 members takes 6.5 s), and probes dial again
    await waitFor(() => members.every(m => m.trim.closed > 0), 'every host trimmed connections', 60_000)
    const [victim, ...survivors] = members
    const gone = victim.identity.peerId
    await stopMember(victim)
    await waitFor(() => survivors.every(m => m.membership?.status(gone) === 'dead'), 'every survivor declares the killed member dead', 60_000)
    await waitFor(() => survivors.every(a => survivors.every(b => a === b || a.membership?.status(b.identity.peerId) === 'alive')),
      'every live member alive in every table', 60_000)
  } finally {
    await Promise.all(members.map(stopMember))
  }
})

test.run()
