/**
 * A planned move loses nothing: the old holder of a singleton stops it,
 * takes a final snapshot, and only then does the new holder restore and
 * start. The new holder cannot see the old one's snapshot coming, so before
 * it restores it asks every live node that may hold a copy (those that may
 * run the service, the last one that reported a copy, and the authors of
 * the latest snapshots: a node that just started has heard no report yet)
 * whether it has settled, and waits — polling, up to `handoffWait` — until
 * each says so and its snapshots have arrived here. A holder that is not
 * live (declared dead by membership) is gone: that is an unplanned failure,
 * and the start goes on from the latest snapshot there is (the recovery
 * point is the interval). A live holder whose answer fails is asked again:
 * right after a restart, or under load, a failed ask says nothing of
 * whether its copy still runs.
 */
import { decodeVolumesResponse, encodeVolumes, protocols, snapshotPrefix, type ServiceSpec, type State } from '@minga/protocol'
import type { Clock } from '../clock.js'
import { errorText } from '../logger.js'
import type { Mesh } from '../mesh.js'
import type { BackedVolume, Repositories } from './repository.js'

export interface HandoffInit {
  self: string
  meshId: string
  state: State
  clock: Clock
  mesh: Mesh
  repositories: Repositories
  live: () => readonly string[]
  /** the last node that reported a copy of replica 0 of the service */
  lastHolder: (service: string) => string | undefined
  /** the nodes that may run the service (its readers) */
  eligible: (org: string, service: string) => readonly string[]
  /** ms a start waits for the previous holders, at most */
  wait: number
  /** ms between asks */
  poll: number
  /** ms an ask may take */
  askTimeout: number
}

export type HandoffOutcome =
  | { settled: true }
  | { settled: false, waitingFor: string[], reason: string }

/**
 * Waits until the previous holders of a singleton have settled and their
 * snapshots are here. `onWait` hears what it waits for (for `minga ps`);
 * resolves with how it ended: settled, or given up after `wait`
 */
export async function awaitHandoff (init: HandoffInit, spec: ServiceSpec, volumes: readonly BackedVolume[], options: { signal?: AbortSignal, onWait?: (text: string) => void } = {}): Promise<HandoffOutcome> {
  const service = `${spec.org}/${spec.name}`
  const deadline = init.clock.now() + init.wait
  while (true) {
    const pending = await unsettled(init, spec, volumes)
    if (pending.length === 0) return { settled: true }
    const text = `waiting for ${pending.map(p => p.peer.slice(-8)).join(', ')}: ${pending[0].why}`
    if (init.clock.now() >= deadline) return { settled: false, waitingFor: pending.map(p => p.peer), reason: `${text}; gave up after ${Math.round(init.wait / 1000)} s and starts ${service} from the latest snapshot here` }
    options.onWait?.(text)
    await init.clock.sleep(init.poll, options.signal)
  }
}

async function unsettled (init: HandoffInit, spec: ServiceSpec, volumes: readonly BackedVolume[]): Promise<Array<{ peer: string, why: string }>> {
  const service = `${spec.org}/${spec.name}`
  const live = new Set(init.live())
  const peers = new Set<string>(init.eligible(spec.org, spec.name))
  const last = init.lastHolder(service)
  if (last !== undefined) peers.add(last)
  for (const volume of volumes) {
    const latest = init.repositories.latest(spec.org, spec.name, volume.volume)
    if (latest !== undefined) peers.add(latest.entry.author)
  }
  peers.delete(init.self)
  const out: Array<{ peer: string, why: string }> = []
  await Promise.all([...peers].filter(p => live.has(p)).map(async peer => {
    let answer
    try {
      answer = decodeVolumesResponse(await init.mesh.request(peer, protocols.volumes(init.meshId), encodeVolumes({ type: 'volume-handoff', service }), { signal: AbortSignal.timeout(init.askTimeout) }))
    } catch (err) {
      // still live, so not gone: a connection not up yet after a restart, or a stream reset under load. Taking it for
      // gone would start a second copy beside its running one; it is asked again until it answers or is declared dead
      out.push({ peer, why: `it did not answer whether its copy of ${service} has stopped (${errorText(err).slice(0, 200)}); asking again until it answers or is declared dead` })
      return
    }
    if (answer.type !== 'volume-handoff-ok') return
    if (!answer.settled) {
      out.push({ peer, why: `its copy of ${service} stops and takes a final snapshot` })
      return
    }
    for (const volume of volumes) {
      const theirs = answer.generations[volume.volume]
      const known = init.repositories.latest(spec.org, spec.name, volume.volume)?.record.generation ?? 0
      if (theirs !== undefined && theirs > known) {
        out.push({ peer, why: `its snapshot generation ${theirs} of ${volume.volume} has not arrived here yet` })
        return
      }
    }
  }))
  return out
}

/** the generations of this node's own latest snapshot entries of a service, by volume */
export function ownGenerations (state: State, self: string, org: string, service: string): Record<string, number> {
  const out: Record<string, number> = {}
  for (const entry of state.records('snapshot', snapshotPrefix(org, service))) {
    if (entry.author !== self) continue
    const volume = entry.key.split('/')[3]
    out[volume] = entry.value.generation
  }
  return out
}
