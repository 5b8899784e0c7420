/**
 * A service's `deploy:` (and the older `cpus`, `mem_limit`,
 * `mem_reservation`, `scale`) as minga fields:
 *
 * - `replicas`; `mode: global` and jobs are refused
 * - `resources.limits` → limits; `resources.reservations` → what the scheduler reserves
 * - `update_config.parallelism` → replicas updated at once: 0 means all at
 *   once, more than the replicas means all of them (as in Swarm);
 *   `order: start-first` starts the new copy beside the old one, unless a
 *   host port rules that out (then minga stops the old copy first, and says so)
 * - `placement.constraints` on `node.labels.K == V` / `!=` → constraints;
 *   anything minga cannot honour is refused, never dropped
 */
import { hasBackupLabels } from './backup.js'
import type { Translation } from './context.js'
import { composeSize } from './mounts.js'

const DEPLOY_FIELDS = new Set(['replicas', 'mode', 'resources', 'restart_policy', 'update_config', 'rollback_config', 'placement', 'labels', 'endpoint_mode'])
const UPDATE_FIELDS = new Set(['parallelism', 'order', 'delay', 'failure_action', 'monitor', 'max_failure_ratio'])

export interface DeployFields {
  replicas?: number
  resources?: { cpu?: string, memory?: string }
  reservations?: { cpu?: string, memory?: string }
  update?: { maxUnavailable: number }
  constraints?: string[]
}

/**
 * a service's `deploy:` (replicas, resources, placement, update_config, restart_policy) and `mem_limit`/`cpus` as minga fields; what minga ignores becomes a warning
 */
export function translateDeploy (service: Record<string, unknown>, hostPorts: boolean, t: Translation): DeployFields {
  const out: DeployFields = {}
  const deploy = mapping(service.deploy, 'deploy', t) ?? {}
  for (const key of Object.keys(deploy)) if (!DEPLOY_FIELDS.has(key)) t.problem(`deploy.${key}`, 'not supported by minga\'s Compose translation; remove it')

  const replicasAt = deploy.replicas !== undefined && deploy.replicas !== null ? 'deploy.replicas' : service.scale !== undefined && service.scale !== null ? 'scale' : undefined
  if (replicasAt !== undefined) {
    const written = replicasAt === 'scale' ? service.scale : deploy.replicas
    const replicas = whole(written)
    if (replicas === undefined) t.problem(replicasAt, `must be a whole number of replicas (got ${JSON.stringify(written)})`)
    else { out.replicas = replicas; t.map('replicas', replicasAt) }
  }
  const mode = deploy.mode
  if (mode !== undefined && mode !== null && mode !== 'replicated') t.problem('deploy.mode', `${JSON.stringify(mode)} is not supported: minga runs replicated services; set deploy.replicas`)

  resources(service, deploy, out, t)
  update(deploy, out.replicas ?? 1, hostPorts, out, t)
  placement(deploy, out, t)
  if (deploy.restart_policy !== undefined) t.warn('deploy.restart_policy', 'ignored: minga restarts every replica that exits, with a growing back-off')
  if (deploy.rollback_config !== undefined) t.warn('deploy.rollback_config', 'ignored: minga does not roll back by itself; deploy the previous file again')
  if (deploy.labels !== undefined && !hasBackupLabels(deploy.labels)) t.warn('deploy.labels', 'ignored: minga labels services and containers itself (it reads only the backup labels: backupbot.backup…, io.minga.backup.interval)')
  if (deploy.endpoint_mode !== undefined) t.warn('deploy.endpoint_mode', 'ignored: a name resolves to one service address on the caller\'s node, which forwards each connection to a healthy replica (as vip does)')
  return out
}

function resources (service: Record<string, unknown>, deploy: Record<string, unknown>, out: DeployFields, t: Translation): void {
  const res = mapping(deploy.resources, 'deploy.resources', t) ?? {}
  for (const key of Object.keys(res)) if (key !== 'limits' && key !== 'reservations') t.problem(`deploy.resources.${key}`, 'not supported; give limits and reservations')
  const limits = mapping(res.limits, 'deploy.resources.limits', t) ?? {}
  const reservations = mapping(res.reservations, 'deploy.resources.reservations', t) ?? {}
  for (const key of Object.keys(limits)) if (key !== 'cpus' && key !== 'memory') t.problem(`deploy.resources.limits.${key}`, 'not supported; minga limits cpus and memory')
  for (const key of Object.keys(reservations)) if (key !== 'cpus' && key !== 'memory') t.problem(`deploy.resources.reservations.${key}`, 'not supported; minga reserves cpus and memory')

  const cpu = pick([[limits.cpus, 'deploy.resources.limits.cpus'], [service.cpus, 'cpus']])
  const memory = pick([[limits.memory, 'deploy.resources.limits.memory'], [service.mem_limit, 'mem_limit']])
  const cpuReserved = pick([[reservations.cpus, 'deploy.resources.reservations.cpus']])
  const memoryReserved = pick([[reservations.memory, 'deploy.resources.reservations.memory'], [service.mem_reservation, 'mem_reservation']])
  if (cpu !== undefined || memory !== undefined) {
    out.resources = {}
    if (cpu !== undefined) { out.resources.cpu = cpu.value; t.map('resources.cpu', cpu.at) }
    if (memory !== undefined) { out.resources.memory = composeSize(memory.value); t.map('resources.memory', memory.at) }
  }
  if (cpuReserved !== undefined || memoryReserved !== undefined) {
    out.reservations = {}
    if (cpuReserved !== undefined) { out.reservations.cpu = cpuReserved.value; t.map('reservations.cpu', cpuReserved.at) }
    if (memoryReserved !== undefined) { out.reservations.memory = composeSize(memoryReserved.value); t.map('reservations.memory', memoryReserved.at) }
    // reserving more than minga's default limits would fail the check that reservations stay within limits
    out.resources ??= {}
    if (out.resources.cpu === undefined && cpuReserved !== undefined) out.resources.cpu = cpuReserved.value
    if (out.resources.memory === undefined && memoryReserved !== undefined) out.resources.memory = composeSize(memoryReserved.value)
  }
  if (cpu === undefined && memory === undefined) {
    t.warn('', `no limits given (deploy.resources.limits): minga limits each replica to ${out.resources?.cpu ?? '0.1'} cpu and ${out.resources?.memory ?? '64Mi'} of memory; set cpus and memory to what the service needs`)
  }
}

function update (deploy: Record<string, unknown>, replicas: number, hostPorts: boolean, out: DeployFields, t: Translation): void {
  const config = mapping(deploy.update_config, 'deploy.update_config', t)
  if (config === undefined) return
  for (const key of Object.keys(config)) {
    if (!UPDATE_FIELDS.has(key)) t.problem(`deploy.update_config.${key}`, 'not a field of update_config')
    else if (key !== 'parallelism' && key !== 'order') t.warn(`deploy.update_config.${key}`, 'ignored: minga moves to the next replica as soon as the updated one is healthy')
  }
  let maxUnavailable = 1
  if (config.parallelism !== undefined && config.parallelism !== null) {
    const parallelism = whole(config.parallelism)
    if (parallelism === undefined) {
      t.problem('deploy.update_config.parallelism', `must be a whole number of replicas updated at once, 0 for all at once (got ${JSON.stringify(config.parallelism)})`)
      return
    }
    // Swarm: 0 updates every replica at once; more than the replicas is every replica
    maxUnavailable = parallelism === 0 ? replicas : Math.min(parallelism, replicas)
    maxUnavailable = Math.max(1, maxUnavailable)
  }
  if (config.order !== undefined && config.order !== null && config.order !== 'stop-first') {
    if (config.order !== 'start-first') {
      t.problem('deploy.update_config.order', `must be stop-first or start-first (got ${JSON.stringify(config.order)})`)
      return
    }
    if (hostPorts) {
      t.warn('deploy.update_config.order', 'start-first cannot start a new copy beside the old one on a node while both need the same host port; minga stops the old copy first')
    } else if (replicas > 0) {
      if (maxUnavailable > 1) t.warn('deploy.update_config.parallelism', 'with start-first, minga updates one replica at a time')
      maxUnavailable = 0
    }
  }
  out.update = { maxUnavailable }
  t.map('update.maxUnavailable', maxUnavailable === 0 ? 'deploy.update_config.order' : 'deploy.update_config.parallelism')
  t.map('update', 'deploy.update_config')
}

const CONSTRAINT = /^\s*node\.labels\.([^\s=!]+)\s*(==|!=)\s*(.*?)\s*$/

function placement (deploy: Record<string, unknown>, out: DeployFields, t: Translation): void {
  const place = mapping(deploy.placement, 'deploy.placement', t)
  if (place === undefined) return
  for (const key of Object.keys(place)) {
    if (key === 'constraints') continue
    if (key === 'max_replicas_per_node') t.problem('deploy.placement.max_replicas_per_node', 'minga spreads replicas over organizations and nodes, but does not cap them per node; remove max_replicas_per_node')
    else if (key === 'preferences') t.problem('deploy.placement.preferences', 'minga spreads replicas over organizations, then nodes; it cannot spread by a label. Remove preferences')
    else t.problem(`deploy.placement.${key}`, 'not a field of placement')
  }
  const constraints = place.constraints
  if (constraints === undefined || constraints === null) return
  if (!Array.isArray(constraints)) {
    t.problem('deploy.placement.constraints', 'must be a list like ["node.labels.disk == ssd"]')
    return
  }
  out.constraints = []
  constraints.forEach((item, i) => {
    const match = typeof item === 'string' ? CONSTRAINT.exec(item) : null
    if (match === null) {
      const subject = typeof item === 'string' ? /^\s*([a-z.]+)/.exec(item)?.[1] : undefined
      t.problem(`deploy.placement.constraints[${i}]`, `${JSON.stringify(item)}: minga places by node labels only (node.labels.KEY == VALUE or !=)${subject !== undefined && !subject.startsWith('node.labels') ? `; ${subject} is not known to minga: give the nodes a label (minga up --label KEY=VALUE) and constrain on it` : ''}`)
      return
    }
    const value = match[3].replace(/^(["'])(.*)\1$/, '$2')
    t.map(`constraints[${out.constraints!.length}]`, `deploy.placement.constraints[${i}]`)
    out.constraints!.push(`${match[1]} ${match[2]} ${value}`)
  })
  t.map('constraints', 'deploy.placement.constraints')
  t.map('excludedLabels', 'deploy.placement.constraints')
}

function pick (candidates: Array<[unknown, string]>): { value: string, at: string } | undefined {
  for (const [value, at] of candidates) if (value !== undefined && value !== null && value !== '') return { value: String(value), at }
  return undefined
}

function whole (value: unknown): number | undefined {
  const n = typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : typeof value === 'number' ? value : NaN
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined
}

function mapping (value: unknown, path: string, t: Translation): Record<string, unknown> | undefined {
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'object' || Array.isArray(value)) {
    t.problem(path, 'must be a mapping')
    return undefined
  }
  return value as Record<string, unknown>
}
