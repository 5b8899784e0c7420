/**
 * Scenario files: YAML in, a resolved `Scenario` out, or a ScenarioError
 * that lists every problem with its path. See scenarios/*.yaml for the
 * format; every field but `name`, `mesh.nodes` and `mesh.orgs` has a
 * default.
 */
import { parse as parseYaml } from 'yaml'
import { messageOf, durationRuleText, parseCpu, parseDuration, parseMemory, type DurationRule } from '@minga/protocol'
import { DEFAULT_NETWORK, type LatencyDist, type NetworkParams } from '../network/model.js'
import type { WorkStep } from '@minga/node/core'
import type { Action, CpuScenario, IngressModel, Scenario } from './types.js'

/** a scenario file that breaks a rule; the message names the field and what it takes */
export class ScenarioError extends Error {
  constructor (readonly problems: string[], source = 'scenario') {
    super(`${source} is not a valid scenario:\n  - ${problems.join('\n  - ')}`)
    this.name = 'ScenarioError'
  }
}

type Obj = Record<string, unknown>

/** network latencies are modelled below a millisecond (`0.2ms` on a LAN) */
const LATENCY: DurationRule = { step: 0 }

class Reader {
  readonly problems: string[] = []

  obj (value: unknown, path: string, allowed: string[]): Obj {
    if (value === undefined || value === null) return {}
    if (typeof value !== 'object' || Array.isArray(value)) { this.problems.push(`${path}: expected a mapping`); return {} }
    for (const key of Object.keys(value)) if (!allowed.includes(key)) this.problems.push(`${path}.${key}: unknown field (known: ${allowed.join(', ')})`)
    return value as Obj
  }

  /** a duration of the one grammar (protocol's duration.ts); latencies take fractions of a millisecond */
  duration (value: unknown, path: string, fallback: number, rule: DurationRule = {}): number {
    if (value === undefined) return fallback
    const ms = parseDuration(value, rule)
    if (Number.isNaN(ms)) { this.problems.push(`${path}: ${durationRuleText(rule)}, not ${JSON.stringify(value)}`); return fallback }
    return ms
  }

  number (value: unknown, path: string, fallback: number, min: number, max: number, whole = false): number {
    if (value === undefined) return fallback
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max || (whole && !Number.isInteger(value))) {
      this.problems.push(`${path}: expected ${whole ? 'a whole number' : 'a number'} from ${min} to ${max}, got ${JSON.stringify(value)}`)
      return fallback
    }
    return value
  }

  unit (value: unknown, path: string, fallback: number, parse: (raw: unknown) => number, example: string): number {
    if (value === undefined) return fallback
    const parsed = parse(value)
    if (!Number.isFinite(parsed) || parsed <= 0) { this.problems.push(`${path}: expected a size like ${example}, got ${JSON.stringify(value)}`); return fallback }
    return parsed
  }

  latency (value: unknown, path: string, fallback: LatencyDist, sigma: number): LatencyDist {
    if (value === undefined) return { ...fallback, sigma }
    return { median: this.duration(value, path, fallback.median, LATENCY), sigma }
  }
}

/** a scenario from YAML text, every field checked; ScenarioError naming the field and what it takes */
export function parseScenario (text: string, source = 'scenario'): Scenario {
  let doc: unknown
  try {
    doc = parseYaml(text)
  } catch (err) {
    throw new ScenarioError([`not valid YAML: ${messageOf(err).split('\n')[0]}`], source)
  }
  return resolveScenario(doc, source)
}

/** a scenario from a parsed document, defaults filled in; ScenarioError naming the field and what it takes */
export function resolveScenario (doc: unknown, source = 'scenario'): Scenario {
  const r = new Reader()
  const top = r.obj(doc, '', ['name', 'description', 'seed', 'duration', 'settle', 'sample', 'mesh', 'services', 'backup', 'runtime', 'network', 'cpu', 'timing', 'ingress', 'timeline'])
  if (typeof top.name !== 'string' || !/^[a-z0-9][a-z0-9-]{0,62}$/.test(top.name)) r.problems.push('name: expected a short name of lowercase letters, digits and dashes')
  const mesh = r.obj(top.mesh, 'mesh', ['nodes', 'orgs', 'orgShares', 'node', 'warm'])
  if (mesh.nodes === undefined) r.problems.push('mesh.nodes: missing (how many nodes, e.g. 1000)')
  if (mesh.orgs === undefined) r.problems.push('mesh.orgs: missing (how many organizations, e.g. 30)')
  const nodes = r.number(mesh.nodes, 'mesh.nodes', 10, 2, 100_000, true)
  const orgs = r.number(mesh.orgs, 'mesh.orgs', 1, 1, Math.max(1, nodes), true)
  const orgShares = Array.isArray(mesh.orgShares) ? mesh.orgShares.map((v, i) => r.number(v, `mesh.orgShares[${i}]`, 0.1, 0, 1)) : []
  if (mesh.orgShares !== undefined && !Array.isArray(mesh.orgShares)) r.problems.push('mesh.orgShares: expected a list of shares, e.g. [0.1]')
  if (orgShares.reduce((a, b) => a + b, 0) > 1) r.problems.push('mesh.orgShares: the shares add up to more than 1')
  if (mesh.warm !== undefined && typeof mesh.warm !== 'boolean') r.problems.push('mesh.warm: expected true or false (true: the mesh has run a while, every node knows every member)')
  const node = r.obj(mesh.node, 'mesh.node', ['cpu', 'memory'])
  const services = r.obj(top.services, 'services', ['count', 'replicas', 'cpu', 'memory', 'singletons', 'healthCheck', 'volumes'])
  const count = r.number(services.count, 'services.count', 0, 0, 1_000_000, true)
  const replicas = parseRange(r, services.replicas, 'services.replicas')
  const runtime = r.obj(top.runtime, 'runtime', ['startDelay', 'startJitter', 'failureRate'])
  const duration = r.duration(top.duration, 'duration', 60_000)
  const scenario: Scenario = {
    name: typeof top.name === 'string' ? top.name : 'scenario',
    description: typeof top.description === 'string' ? top.description.trim() : '',
    seed: r.number(top.seed, 'seed', 1, 0, 2 ** 53, true),
    duration,
    settle: r.duration(top.settle, 'settle', 120_000),
    sample: Math.max(50, r.duration(top.sample, 'sample', 1000)),
    nodes,
    orgs,
    orgShares,
    warm: mesh.warm === true,
    node: { cpu: r.unit(node.cpu, 'mesh.node.cpu', 8000, parseCpu, '8 or 500m'), memory: r.unit(node.memory, 'mesh.node.memory', 16 * 2 ** 30, parseMemory, '16Gi') },
    runtime: {
      startDelay: { median: r.duration(runtime.startDelay, 'runtime.startDelay', 2000), sigma: r.number(runtime.startJitter, 'runtime.startJitter', 0.3, 0, 3) },
      failureRate: r.number(runtime.failureRate, 'runtime.failureRate', 0, 0, 1)
    },
    services: {
      count,
      replicas,
      cpu: r.unit(services.cpu, 'services.cpu', 100, parseCpu, '100m'),
      memory: r.unit(services.memory, 'services.memory', 64 * 2 ** 20, parseMemory, '64Mi'),
      singletons: r.number(services.singletons, 'services.singletons', 0, 0, count, true),
      healthCheck: services.healthCheck === true,
      volumes: r.number(services.volumes, 'services.volumes', 0, 0, count, true)
    },
    backup: parseBackup(r, top.backup),
    network: parseNetwork(r, top.network),
    ...(top.cpu === undefined ? {} : { cpu: parseCpuModel(r, top.cpu) }),
    timing: parseTiming(r, top.timing),
    ...(top.ingress === undefined ? {} : { ingress: parseIngress(r, top.ingress, duration) }),
    timeline: parseTimeline(r, top.timeline, duration)
  }
  for (const action of scenario.timeline) {
    if (action.kind === 'kill' && action.serving !== undefined && action.serving !== scenario.ingress?.service) r.problems.push(`timeline: kill.serving names ${action.serving}, but the scenario's ingress service is ${scenario.ingress?.service ?? 'not there (add ingress: { service: NAME })'}`)
  }
  if (r.problems.length > 0) throw new ScenarioError(r.problems, source)
  return scenario
}

function parseBackup (r: Reader, value: unknown): Scenario['backup'] {
  const b = r.obj(value, 'backup', ['size', 'interval', 'throughput', 'fixed', 'holders', 'writeEvery'])
  const interval = r.duration(b.interval, 'backup.interval', 300_000)
  if (interval < 30_000 || interval % 1000 !== 0) r.problems.push('backup.interval: expected whole seconds from 30s (the shortest interval a spec allows), e.g. 1m')
  return {
    size: r.unit(b.size, 'backup.size', 100 * 2 ** 20, parseMemory, '100Mi'),
    interval,
    throughput: r.unit(b.throughput, 'backup.throughput', 50 * 2 ** 20, parseMemory, '50Mi (bytes per second)'),
    fixed: r.duration(b.fixed, 'backup.fixed', 500),
    holders: r.number(b.holders, 'backup.holders', 2, 1, 10, true),
    writeEvery: Math.max(100, r.duration(b.writeEvery, 'backup.writeEvery', 1000))
  }
}

function parseIngress (r: Reader, value: unknown, duration: number): IngressModel {
  const i = r.obj(value, 'ingress', ['service', 'replicas', 'port', 'health', 'clients', 'pause', 'timeout', 'from', 'until', 'clientLatency', 'serve', 'requestBytes', 'answerBytes'])
  const service = typeof i.service === 'string' && /^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$/.test(i.service) ? i.service : (r.problems.push('ingress.service: expected a service name of lowercase letters, digits and dashes, e.g. web'), 'web')
  const from = r.duration(i.from, 'ingress.from', 10_000)
  const until = r.duration(i.until, 'ingress.until', duration)
  if (until <= from || until > duration) r.problems.push('ingress.until: expected a time after ingress.from and within the run (duration)')
  return {
    service,
    replicas: r.number(i.replicas, 'ingress.replicas', 1, 1, 100, true),
    port: r.number(i.port, 'ingress.port', 8080, 1, 65535, true),
    health: Math.max(100, r.duration(i.health, 'ingress.health', 1000)),
    clients: r.number(i.clients, 'ingress.clients', 1, 1, 10_000, true),
    pause: r.duration(i.pause, 'ingress.pause', 20, LATENCY),
    timeout: Math.max(1, r.duration(i.timeout, 'ingress.timeout', 30_000)),
    from,
    until,
    clientLatency: r.duration(i.clientLatency, 'ingress.clientLatency', 0.1, LATENCY),
    serve: r.duration(i.serve, 'ingress.serve', 1, LATENCY),
    requestBytes: r.number(i.requestBytes, 'ingress.requestBytes', 100, 1, 2 ** 30, true),
    answerBytes: r.number(i.answerBytes, 'ingress.answerBytes', 1024, 1, 2 ** 30, true)
  }
}

function parseCpuModel (r: Reader, value: unknown): CpuScenario {
  const c = r.obj(value, 'cpu', ['cores', 'message', 'gossip', 'close', 'dial', 'pass', 'write', 'idle'])
  const cost = (key: WorkStep): number => r.duration(c[key], `cpu.${key}`, 0, LATENCY)
  return {
    ...(c.cores === undefined ? {} : { cores: r.number(c.cores, 'cpu.cores', 1, 1, 1024, true) }),
    costs: { message: cost('message'), gossip: cost('gossip'), close: cost('close'), dial: cost('dial'), pass: cost('pass'), write: cost('write') },
    // ms of one core per second: at most the whole core
    ...(c.idle === undefined ? {} : { idle: r.duration(c.idle, 'cpu.idle', 0, { step: 0, max: 1000 }) })
  }
}

function parseRange (r: Reader, value: unknown, path: string): { min: number, max: number } {
  if (value === undefined) return { min: 1, max: 3 }
  if (typeof value === 'number') { const n = r.number(value, path, 1, 0, 100, true); return { min: n, max: n } }
  const match = typeof value === 'string' ? /^(\d+)\s*-\s*(\d+)$/.exec(value) : null
  if (match === null || Number(match[1]) > Number(match[2])) { r.problems.push(`${path}: expected a count or a range like 1-5, got ${JSON.stringify(value)}`); return { min: 1, max: 3 } }
  return { min: Number(match[1]), max: Number(match[2]) }
}

function parseNetwork (r: Reader, value: unknown): NetworkParams {
  const n = r.obj(value, 'network', ['regions', 'latency', 'loss', 'bandwidth', 'processing', 'crashDisconnect', 'silentDisconnect', 'reconnect', 'requestTimeout', 'maxConnections'])
  const d = DEFAULT_NETWORK
  const latency = r.obj(n.latency, 'network.latency', ['sameOrg', 'sameRegion', 'crossRegion', 'jitter', 'pairs'])
  const sigma = r.number(latency.jitter, 'network.latency.jitter', d.sameRegion.sigma, 0, 3)
  const regions = n.regions === undefined ? d.regions : Array.isArray(n.regions) && n.regions.length > 0 && n.regions.every(x => typeof x === 'string') ? n.regions as string[] : (r.problems.push('network.regions: expected a list of region names'), d.regions)
  const pairs: Record<string, LatencyDist> = latency.pairs === undefined ? { ...d.regionPairs } : {}
  for (const [pair, ms] of Object.entries(r.obj(latency.pairs, 'network.latency.pairs', Object.keys(latency.pairs ?? {})))) {
    if (!/^[^-]+-[^-]+$/.test(pair) || !pair.split('-').every(x => regions.includes(x))) r.problems.push(`network.latency.pairs.${pair}: expected two regions of network.regions joined by a dash`)
    pairs[pair] = { median: r.duration(ms, `network.latency.pairs.${pair}`, 50, LATENCY), sigma: Math.min(sigma, 0.25) }
  }
  const bandwidth = n.bandwidth === undefined ? d.bandwidth : parseBandwidth(n.bandwidth)
  if (!Number.isFinite(bandwidth) || bandwidth <= 0) r.problems.push(`network.bandwidth: expected a rate like 100Mbit or 1Gbit, got ${JSON.stringify(n.bandwidth)}`)
  return {
    ...d,
    regions,
    sameOrg: r.latency(latency.sameOrg, 'network.latency.sameOrg', d.sameOrg, Math.min(sigma, d.sameOrg.sigma)),
    sameRegion: r.latency(latency.sameRegion, 'network.latency.sameRegion', d.sameRegion, sigma),
    crossRegion: r.latency(latency.crossRegion, 'network.latency.crossRegion', d.crossRegion, Math.min(sigma, 0.25)),
    regionPairs: pairs,
    loss: r.number(n.loss, 'network.loss', d.loss, 0, 0.5),
    bandwidth: Number.isFinite(bandwidth) && bandwidth > 0 ? bandwidth : d.bandwidth,
    processing: r.duration(n.processing, 'network.processing', d.processing, LATENCY),
    crashDisconnect: r.duration(n.crashDisconnect, 'network.crashDisconnect', d.crashDisconnect),
    silentDisconnect: r.duration(n.silentDisconnect, 'network.silentDisconnect', d.silentDisconnect),
    reconnect: r.duration(n.reconnect, 'network.reconnect', d.reconnect),
    requestTimeout: r.duration(n.requestTimeout, 'network.requestTimeout', d.requestTimeout),
    maxConnections: r.number(n.maxConnections, 'network.maxConnections', d.maxConnections, 1, 1_000_000, true)
  }
}

/** bytes per second from `100Mbit`, `1Gbit`, `10MB` (bytes) or a number of bytes */
function parseBandwidth (value: unknown): number {
  if (typeof value === 'number') return value
  const match = typeof value === 'string' ? /^(\d+(?:\.\d+)?)\s*(k|M|G)?(bit|B)$/.exec(value.trim()) : null
  if (match === null) return NaN
  const scale = { '': 1, k: 1e3, M: 1e6, G: 1e9 }[match[2] ?? '']!
  return Number(match[1]) * scale / (match[3] === 'bit' ? 8 : 1)
}

const TIMING_FIELDS = ['syncInterval', 'reconcileInterval', 'reconcileDebounce']

function parseTiming (r: Reader, value: unknown): Scenario['timing'] {
  const t = r.obj(value, 'timing', TIMING_FIELDS)
  const out: Record<string, number> = {}
  for (const key of TIMING_FIELDS) if (t[key] !== undefined) out[key] = r.duration(t[key], `timing.${key}`, 1000)
  return out
}

const ACTIONS = ['kill', 'churn', 'orgLoss', 'partition', 'deploy', 'rollingUpdate', 'cordon', 'stall', 'slow']

function parseTimeline (r: Reader, value: unknown, duration: number): Action[] {
  if (value === undefined || value === null) return []
  if (!Array.isArray(value)) { r.problems.push('timeline: expected a list of actions, e.g. - at: 60s\\n    kill: { nodes: 1 }'); return [] }
  const out: Action[] = []
  value.forEach((item, i) => {
    const path = `timeline[${i}]`
    const o = r.obj(item, path, ['at', ...ACTIONS])
    const at = r.duration(o.at, `${path}.at`, 0)
    if (at > duration) r.problems.push(`${path}.at: ${JSON.stringify(o.at)} is after the end of the run (duration)`)
    const kinds = ACTIONS.filter(k => o[k] !== undefined)
    if (kinds.length !== 1) { r.problems.push(`${path}: expected exactly one action of ${ACTIONS.join(', ')}`); return }
    const kind = kinds[0]
    const p = `${path}.${kind}`
    switch (kind) {
      case 'kill': {
        const a = r.obj(o.kill, p, ['nodes', 'restartAfter', 'silent', 'process', 'supervised', 'serving'])
        const only = a.process === true ? { process: true, supervised: a.supervised !== false } : {}
        if (a.serving !== undefined && typeof a.serving !== 'string') r.problems.push(`${p}.serving: expected the name of the scenario's ingress service`)
        const serving = typeof a.serving === 'string' ? { serving: a.serving } : {}
        out.push({ at, kind: 'kill', nodes: r.number(a.nodes, `${p}.nodes`, 1, 1, 100_000, true), restartAfter: a.restartAfter === undefined ? undefined : r.duration(a.restartAfter, `${p}.restartAfter`, 60_000), silent: a.silent === true, ...only, ...serving })
        break
      }
      case 'churn': {
        const a = r.obj(o.churn, p, ['until', 'mtbf', 'repair'])
        if (a.mtbf === undefined) r.problems.push(`${p}.mtbf: missing (mean time between failures of one node, e.g. 2h)`)
        out.push({ at, kind: 'churn', until: r.duration(a.until, `${p}.until`, duration), mtbf: Math.max(1000, r.duration(a.mtbf, `${p}.mtbf`, 7_200_000)), repair: Math.max(1000, r.duration(a.repair, `${p}.repair`, 300_000)) })
        break
      }
      case 'orgLoss': {
        const a = r.obj(o.orgLoss, p, ['org'])
        out.push({ at, kind: 'org-loss', org: a.org === undefined || a.org === 'largest' ? 'largest' : r.number(a.org, `${p}.org`, 0, 0, 100_000, true) })
        break
      }
      case 'partition': {
        const a = r.obj(o.partition, p, ['duration', 'share'])
        out.push({ at, kind: 'partition', duration: r.duration(a.duration, `${p}.duration`, 60_000), share: r.number(a.share, `${p}.share`, 0.5, 0.01, 0.99) })
        break
      }
      case 'deploy': {
        const a = r.obj(o.deploy, p, ['services', 'over', 'author'])
        if (a.author !== undefined && a.author !== 'one' && a.author !== 'each') r.problems.push(`${p}.author: expected one (one node of one org writes every service, as one minga deploy does) or each (the default: every service from a random org's node)`)
        out.push({ at, kind: 'deploy', services: r.number(a.services, `${p}.services`, 1, 1, 100_000, true), over: r.duration(a.over, `${p}.over`, 0), ...(a.author === 'one' ? { author: 'one' as const } : {}) })
        break
      }
      case 'rollingUpdate': {
        const a = r.obj(o.rollingUpdate, p, ['services', 'over'])
        out.push({ at, kind: 'rolling-update', services: a.services === undefined || a.services === 'all' ? 'all' : r.number(a.services, `${p}.services`, 1, 1, 1_000_000, true), over: r.duration(a.over, `${p}.over`, 0) })
        break
      }
      case 'cordon': {
        const a = r.obj(o.cordon, p, ['nodes'])
        out.push({ at, kind: 'cordon', nodes: r.number(a.nodes, `${p}.nodes`, 1, 1, 100_000, true) })
        break
      }
      case 'stall': {
        const a = r.obj(o.stall, p, ['nodes', 'duration', 'every'])
        out.push({ at, kind: 'stall', nodes: r.number(a.nodes, `${p}.nodes`, 1, 1, 100_000, true), duration: r.duration(a.duration, `${p}.duration`, 5000), every: a.every === undefined ? undefined : r.duration(a.every, `${p}.every`, 60_000) })
        break
      }
      case 'slow': {
        const a = r.obj(o.slow, p, ['nodes', 'delay', 'duration'])
        out.push({ at, kind: 'slow', nodes: r.number(a.nodes, `${p}.nodes`, 1, 1, 100_000, true), delay: r.duration(a.delay, `${p}.delay`, 500), duration: r.duration(a.duration, `${p}.duration`, 60_000) })
        break
      }
    }
  })
  return out
}
