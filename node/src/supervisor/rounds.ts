/** A stop round of the supervisor in words, for the daemon that attaches after it */
import type { StopRound } from '../core/supervision/types.js'

export function describeRound (round: StopRound): string {
  const names = round.containers.map(c => `${c.service}#${c.replica}${c.how === 'unconfirmed' ? ' (not confirmed)' : ''}`)
  const when = new Date(round.began).toISOString()
  const took = round.ended === undefined ? 'still under way' : `in ${round.ended - round.began} ms`
  return `while no daemon ran, the supervisor stopped ${names.length} container(s) at ${when} (${round.reason}; ${round.began - round.lastSeen} ms after the daemon was last seen, ${took})${names.length === 0 ? '' : ': ' + names.join(', ')}`
}
