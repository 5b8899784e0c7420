/** What a container's state means to the planner, and what a heartbeat says about it */
import type { LocalReplica, PeerReplica } from './types.js'

/** serving: running and passing its health check (or having none) */
export function isHealthy (c: LocalReplica): boolean {
  return c.state === 'running' && (c.health === 'healthy' || c.health === 'none')
}

/** needs a restart: not running at all, or failing its health check */
export function isDown (c: LocalReplica): boolean {
  return c.state === 'exited' || c.state === 'created' || c.health === 'unhealthy'
}

/** the heartbeat entry a node publishes for one of its containers */
export function reportOf (c: LocalReplica): PeerReplica {
  return { service: c.service, replica: c.replica, hash: c.hash, healthy: isHealthy(c) }
}
