/**
 * A stop round of the supervisor in words, for the daemon that attaches
 * after it; and the rounds a supervisor could not tell, kept on disk. A
 * supervisor exits once it has lingered with no daemon (`lingerMs`); what it
 * stopped meanwhile is written to `supervisor-<tag>.rounds.json` in the data
 * dir, and the next daemon reads (and removes) it at its attach, so the
 * record of what was stopped outlives the process that stopped it.
 */
import { readFile, rename, unlink, writeFile } from 'node:fs/promises'
import type { StopRound } from '../core/supervision/types.js'

/** rounds kept on disk, at most (the oldest dropped first) */
const MAX_SAVED_ROUNDS = 16
/** a rounds file larger than this is not read (bytes) */
const MAX_ROUNDS_FILE = 256 * 1024

export function describeRound (round: StopRound): string {
  const names = round.containers.map(c => `${c.service}#${c.replica}${c.how === 'unconfirmed' ? ' (not confirmed)' : ''}`)
  const when = new Date(round.began).toISOString()
  const took = round.ended === undefined ? 'still under way' : `in ${round.ended - round.began} ms`
  return `while no daemon ran, the supervisor stopped ${names.length} container(s) at ${when} (${round.reason}; ${round.began - round.lastSeen} ms after the daemon was last seen, ${took})${names.length === 0 ? '' : ': ' + names.join(', ')}`
}

/** adds `rounds` to those already saved at `path` (an earlier supervisor's, untold), atomically; never throws */
export async function saveRounds (path: string, rounds: readonly StopRound[]): Promise<void> {
  if (rounds.length === 0) return
  try {
    const all = [...await readRounds(path), ...rounds].slice(-MAX_SAVED_ROUNDS)
    await writeFile(`${path}.tmp`, JSON.stringify(all), { mode: 0o600 })
    await rename(`${path}.tmp`, path)
  } catch {}
}

/** the rounds saved at `path`, removed from disk; [] when there are none or the file is not a list of rounds */
export async function takeSavedRounds (path: string): Promise<StopRound[]> {
  const rounds = await readRounds(path)
  await unlink(path).catch(() => {})
  return rounds
}

async function readRounds (path: string): Promise<StopRound[]> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch {
    return []
  }
  if (text.length > MAX_ROUNDS_FILE) return []
  try {
    const parsed: unknown = JSON.parse(text)
    return Array.isArray(parsed) ? parsed.filter(isRound).slice(-MAX_SAVED_ROUNDS) : []
  } catch {
    return []
  }
}

function isRound (value: any): value is StopRound {
  return typeof value === 'object' && value !== null && typeof value.reason === 'string' && Number.isFinite(value.lastSeen) && Number.isFinite(value.began) &&
    Array.isArray(value.containers) && value.containers.every((c: any) => typeof c === 'object' && c !== null && typeof c.service === 'string' && Number.isSafeInteger(c.replica))
}
