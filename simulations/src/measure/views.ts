/** reading the simulated mesh: what each live node computed, and what its host runs */
import { createHash } from 'node:crypto'
import type { Assignment } from '@minga/scheduler'
import type { SimNode } from '../cluster/sim-node.js'

const keys = new WeakMap<Assignment, string>()

/** a short canonical hash of an assignment (cached per object: nodes share them through the placement cache) */
export function assignmentKey (assignment: Assignment): string {
  let key = keys.get(assignment)
  if (key === undefined) {
    const ids = Object.keys(assignment.services).sort()
    const hash = createHash('sha256')
    for (const id of ids) hash.update(`${id}=${assignment.services[id].join(',')}\n`)
    key = hash.digest('hex').slice(0, 16)
    keys.set(assignment, key)
  }
  return key
}

/** the assignment a running node computes now, or undefined when it is down */
export function assignmentOf (node: SimNode): Assignment | undefined {
  return node.current?.core.reconciler.currentAssignment()
}

/** containers that count as a running copy: running or still starting */
export function activeContainers (node: SimNode): Array<{ service: string, replica: number, hash: string, healthy: boolean }> {
  const out: Array<{ service: string, replica: number, hash: string, healthy: boolean }> = []
  forEachActive(node, (service, replica, hash, healthy) => { out.push({ service, replica, hash, healthy }) })
  return out
}

/** `visit` each container that counts as a running copy (see `activeContainers`), without a copy of each */
export function forEachActive (node: SimNode, visit: (service: string, replica: number, hash: string, healthy: boolean) => void): void {
  // the host's engine: a node whose minga died may still run containers (until its supervisor stops them)
  const engine = node.engine
  if (engine === undefined) return
  for (const c of engine.all()) {
    if (c.state !== 'running' && c.state !== 'starting') continue
    visit(c.replica.service, c.replica.replica, c.replica.hash, c.state === 'running' && (c.health === 'healthy' || c.health === 'none'))
  }
}

export interface Agreement {
  agree: boolean
  digest?: string
  assignment?: Assignment
}

/** whether all live nodes hold one digest and one assignment */
export function agreement (live: SimNode[]): Agreement {
  let digest: string | undefined
  let key: string | undefined
  let assignment: Assignment | undefined
  for (const node of live) {
    const d = node.current!.state.digest()
    const a = assignmentOf(node)
    if (a === undefined) return { agree: false }
    const k = assignmentKey(a)
    if (digest === undefined) { digest = d; key = k; assignment = a; continue }
    if (d !== digest || k !== key) return { agree: false }
  }
  return { agree: true, digest, assignment }
}
