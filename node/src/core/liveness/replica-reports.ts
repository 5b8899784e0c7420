/**
 * The replicas a heartbeat reports, indexed for the planner: per service,
 * which replicas a peer runs, and which services changed between two
 * heartbeats of one peer. Indexed once per heartbeat object: the simulator's
 * nodes share decoded heartbeats, so a mesh of thousands indexes each once.
 */
import type { HeartbeatMessage } from '@minga/protocol'
import type { PeerReplicaReport } from '../components.js'

const reportsByHeartbeat = new WeakMap<HeartbeatMessage, Map<string, PeerReplicaReport[]>>()

/** a heartbeat's replica reports by service, indexed once per heartbeat object */
export function reportsOf (heartbeat: HeartbeatMessage): Map<string, PeerReplicaReport[]> {
  let index = reportsByHeartbeat.get(heartbeat)
  if (index === undefined) {
    index = new Map()
    for (const r of heartbeat.replicas) {
      let list = index.get(r.service)
      if (list === undefined) index.set(r.service, list = [])
      list.push({ service: r.service, replica: r.replica, hash: r.hash, healthy: r.healthy })
    }
    reportsByHeartbeat.set(heartbeat, index)
  }
  return index
}

/** per service, the replicas a heartbeat reports, as one comparable string */
function reportsByService (heartbeat: HeartbeatMessage | undefined): Map<string, string> {
  const out = new Map<string, string>()
  for (const r of heartbeat?.replicas ?? []) out.set(r.service, `${out.get(r.service) ?? ''}${r.replica}@${r.hash}:${r.healthy ? 1 : 0},`)
  return out
}

/** the last comparison per heartbeat pair: every receiver compares the same two heartbeats (the simulator shares them) */
const lastComparison = new WeakMap<HeartbeatMessage, { before: HeartbeatMessage | undefined, changed: Set<string> }>()

/**
 * the services whose replica reports differ between two heartbeats of one peer (all of them when there is no earlier one); cached per pair
 */
export function changedServices (before: HeartbeatMessage | undefined, after: HeartbeatMessage): Set<string> {
  const cached = lastComparison.get(after)
  if (cached !== undefined && cached.before === before) return cached.changed
  const changed = compareReports(before, after)
  lastComparison.set(after, { before, changed })
  return changed
}

function compareReports (before: HeartbeatMessage | undefined, after: HeartbeatMessage): Set<string> {
  const old = reportsByService(before)
  const now = reportsByService(after)
  const changed = new Set<string>()
  for (const [service, text] of now) if (old.get(service) !== text) changed.add(service)
  for (const service of old.keys()) if (!now.has(service)) changed.add(service)
  return changed
}
