/** Checks that any assignment must pass, whatever the inputs; each returns the violations found */
import { replicaCount } from '../src/index.js'
import type { Assignment, DesiredService, NodeInfo } from '../src/index.js'

export function hardLimitViolations (services: DesiredService[], nodes: NodeInfo[], assignment: Assignment): string[] {
  const problems: string[] = []
  const byId = new Map(nodes.map(n => [n.id, n]))
  const used = new Map(nodes.map(n => [n.id, { cpu: 0, memory: 0, otherCpu: 0, otherMemory: 0, ports: new Set<string>() }]))
  const unplaced = new Set(assignment.unplaced.map(u => `${u.service}#${u.replica}`))
  for (const s of services) {
    const slots = assignment.services[s.id]
    if (slots === undefined) { problems.push(`${s.id} missing from assignment`); continue }
    if (slots.length !== replicaCount(s.spec)) problems.push(`${s.id} has ${slots.length} slots, wants ${replicaCount(s.spec)}`)
    slots.forEach((nodeId, r) => {
      const key = `${s.id}#${r}`
      if (nodeId === null) {
        if (!unplaced.has(key)) problems.push(`${key} is null but not listed as unplaced`)
        return
      }
      if (unplaced.has(key)) problems.push(`${key} is placed and listed as unplaced`)
      const n = byId.get(nodeId)
      if (n === undefined) { problems.push(`${key} on unknown node ${nodeId}`); return }
      if (n.cordoned) problems.push(`${key} on cordoned ${n.id}`)
      if (s.spec.allowOrgs !== undefined && !s.spec.allowOrgs.includes(n.org)) problems.push(`${key} on ${n.id} of disallowed org ${n.org}`)
      if (n.acceptOrgs !== undefined && !n.acceptOrgs.includes(s.spec.org)) problems.push(`${key} on ${n.id} which does not accept ${s.spec.org}`)
      for (const [k, v] of Object.entries(s.spec.constraints)) {
        if (n.labels[k] !== v) problems.push(`${key} on ${n.id} without ${k}=${v}`)
      }
      const u = used.get(n.id)!
      u.cpu += s.spec.resources.cpu
      u.memory += s.spec.resources.memory
      if (n.org !== s.spec.org) {
        u.otherCpu += s.spec.resources.cpu
        u.otherMemory += s.spec.resources.memory
      }
      for (const p of s.spec.ports) {
        if (p.host === undefined) continue
        const port = `${p.host}/${p.protocol}`
        if (u.ports.has(port)) problems.push(`${key}: host port ${port} twice on ${n.id}`)
        u.ports.add(port)
      }
    })
  }
  for (const n of nodes) {
    const u = used.get(n.id)!
    const share = n.shareForOthers ?? 1
    if (u.cpu > n.capacity.cpu) problems.push(`${n.id} cpu ${u.cpu} > ${n.capacity.cpu}`)
    if (u.memory > n.capacity.memory) problems.push(`${n.id} memory ${u.memory} > ${n.capacity.memory}`)
    if (u.otherCpu > n.capacity.cpu * share + 1e-6) problems.push(`${n.id} others' cpu ${u.otherCpu} > share ${share}`)
    if (u.otherMemory > n.capacity.memory * share + 1e-6) problems.push(`${n.id} others' memory ${u.otherMemory} > share ${share}`)
  }
  for (const u of assignment.unplaced) {
    if (u.reason.length === 0) problems.push(`${u.service}#${u.replica} unplaced without a reason`)
  }
  return problems
}

/** whether a node could ever run a service, ignoring what else is placed */
export function eligible (s: DesiredService, n: NodeInfo): boolean {
  return !n.cordoned &&
    (s.spec.allowOrgs === undefined || s.spec.allowOrgs.includes(n.org)) &&
    (n.acceptOrgs === undefined || n.acceptOrgs.includes(s.spec.org)) &&
    Object.entries(s.spec.constraints).every(([k, v]) => n.labels[k] === v)
}
