/**
 * Real Docker engines for the end-to-end tests: one isolated dockerd per
 * name (scripts/docker-engine.sh), the test images built on each
 * (scripts/test-image.sh), and a tiny client of the engine's HTTP API over
 * its unix socket, so the tests check what really runs without going
 * through minga's own runtime code.
 */
import { messageOf } from '@minga/protocol'
import { execFile, spawnSync } from 'node:child_process'
import { request } from 'node:http'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { isCi, testIf } from './skip.js'

const exec = promisify(execFile)

/** the repository's root, from test/dist/src */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url))

const LABEL = {
  mesh: 'io.minga.mesh',
  node: 'io.minga.node',
  service: 'io.minga.service',
  replica: 'io.minga.replica',
  hash: 'io.minga.hash'
} as const
export { LABEL as LABELS }

export interface Engine {
  name: string
  socket: string
  api: EngineClient
  /** the network namespace of a bridged engine: its containers and published ports live there */
  netns?: string
}

async function script (name: string, args: string[], timeoutMs = 120_000, env: Record<string, string> = {}): Promise<string> {
  const { stdout } = await exec('bash', [`${REPO_ROOT}scripts/${name}`, ...args], { timeout: timeoutMs, maxBuffer: 4 * 1024 * 1024, env: { ...process.env, ...env } })
  return stdout.trim()
}

async function hasCommand (command: string): Promise<boolean> {
  return await exec('bash', ['-c', `command -v ${command}`]).then(() => true, () => false)
}

export interface EngineOptions {
  /** the engine runs in a network namespace of its own, with Docker's bridge (scripts/docker-engine.sh, MINGA_DOCKER_BRIDGE) */
  bridge?: boolean
}

/** start (or reuse) engine NAME, with the test images on it */
export async function startEngine (name: string, options: EngineOptions = {}): Promise<Engine> {
  const env: Record<string, string> = options.bridge === true ? { MINGA_DOCKER_BRIDGE: '1' } : {}
  const socket = (await script('docker-engine.sh', ['start', name], 120_000, env)).split('\n').pop() ?? ''
  await script('test-image.sh', [socket])
  const netns = options.bridge === true ? await script('docker-engine.sh', ['netns', name]) : undefined
  return { name, socket, api: new EngineClient(socket), ...(netns === undefined ? {} : { netns }) }
}

/** stop engine NAME; its containers stop with it, its images stay for the next run */
export async function stopEngine (name: string): Promise<void> {
  await script('docker-engine.sh', ['stop', name], 60_000)
}

const toStop = new Set<string>()

/** stop the engines this process started when it exits, however it exits (exit handlers must be synchronous) */
function stopAtExit (name: string): void {
  if (toStop.size === 0) {
    process.once('exit', () => {
      for (const engine of toStop) spawnSync('bash', [`${REPO_ROOT}scripts/docker-engine.sh`, 'stop', engine], { stdio: 'ignore', timeout: 60_000 })
    })
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130))
  }
  toStop.add(name)
}

/**
 * Start the engines the end-to-end tests need; they run until this process
 * exits, so several test files share them. Throws with the reason where
 * engines cannot run (no dockerd, not root).
 */
async function startEngines (names: string[], options: EngineOptions = {}): Promise<Engine[]> {
  const missing = !await hasCommand('dockerd')
    ? 'dockerd is not installed (scripts/docker-engine.sh ensure installs it)'
    : process.getuid?.() !== 0
      ? 'dockerd needs root to run isolated engines'
      : undefined
  try {
    if (missing !== undefined) throw new Error(missing)
    const started: Engine[] = []
    for (const name of names) {
      stopAtExit(name)
      started.push(await startEngine(name, options))
    }
    // containers a crashed earlier run left behind on these test-only engines
    for (const engine of started) await engine.api.removeAll({ label: [LABEL.mesh] })
    return started
  } catch (err) {
    throw new Error(`no Docker (${String((err as { stderr?: unknown } | null)?.stderr ?? '').trim() || messageOf(err) || String(err)})`)
  }
}

/**
 * For benchmarks: the engines, or undefined (printing why) where they cannot
 * run; under CI (`CI` set) it throws instead
 */
export async function engines (names: string[], options: EngineOptions = {}): Promise<Engine[] | undefined> {
  try {
    return await startEngines(names, options)
  } catch (err) {
    if (isCi()) throw new Error(`Docker engines ${names.join(', ')} could not start under CI: ${messageOf(err)}`)
    console.log(`skipped: ${messageOf(err)}`)
    return undefined
  }
}

/**
 * For end-to-end tests: the engines, and `it`, which registers a test that
 * needs them; without Docker each is registered as skipped (counted so, never
 * as passed) with the reason printed once, and under CI it fails
 */
export async function dockerTests (names: string[], options: EngineOptions = {}): Promise<{ engines: Engine[], it: ReturnType<typeof testIf> }> {
  try {
    return { engines: await startEngines(names, options), it: testIf(undefined) }
  } catch (err) {
    return { engines: [], it: testIf(messageOf(err)) }
  }
}

export type Health = 'healthy' | 'unhealthy' | 'starting' | 'none'

/** one container event as the engine recorded it */
export interface EngineEvent { action: string, id: string, timeMs: number, labels: Record<string, string> }

/** one container as the engine lists it */
export interface ContainerInfo {
  id: string
  name: string
  image: string
  /** created, running, exited, … as Docker says */
  state: string
  health: Health
  /** when Docker created it, ms since the epoch, rounded down to the second (the list gives seconds) */
  created: number
  labels: Record<string, string>
  mesh?: string
  node?: string
  service?: string
  replica?: number
  hash?: string
}

/** true for a container that runs and passes its health check (or has none) */
export function isServing (c: ContainerInfo): boolean {
  return c.state === 'running' && (c.health === 'healthy' || c.health === 'none')
}

/** the Docker Engine API over a unix socket, only what the tests need */
export class EngineClient {
  constructor (readonly socket: string) {}

  async call<T = any> (method: string, path: string, body?: unknown, timeoutMs = 10_000): Promise<{ status: number, body: T }> {
    const payload = body === undefined ? undefined : JSON.stringify(body)
    return await new Promise((resolve, reject) => {
      const req = request({ socketPath: this.socket, method, path, timeout: timeoutMs, headers: payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } }, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8')
          let value: any = text
          try { value = text === '' ? undefined : JSON.parse(text) } catch { /* not JSON: keep the text */ }
          resolve({ status: res.statusCode ?? 0, body: value })
        })
        res.on('error', reject)
      })
      req.on('timeout', () => req.destroy(new Error(`engine ${this.socket} did not answer ${method} ${path} within ${timeoutMs} ms`)))
      req.on('error', reject)
      req.end(payload)
    })
  }

  /** every container (any state) whose labels match, e.g. `{ label: ['io.minga.mesh=abc'] }` */
  async containers (filters: Record<string, string[]> = {}): Promise<ContainerInfo[]> {
    const query = new URLSearchParams({ all: 'true', filters: JSON.stringify(filters) })
    const res = await this.call<any[]>('GET', `/containers/json?${query.toString()}`)
    if (res.status !== 200) throw new Error(`engine ${this.socket} answered ${res.status} to a container list: ${JSON.stringify(res.body)}`)
    return res.body.map(toInfo)
  }

  async create (name: string, config: { Image: string, Cmd: string[], Labels?: Record<string, string> }): Promise<string> {
    const res = await this.call<{ Id: string }>('POST', `/containers/create?name=${encodeURIComponent(name)}`, { ...config, HostConfig: { NetworkMode: 'none' } })
    if (res.status !== 201) throw new Error(`engine ${this.socket} refused to create ${name}: ${JSON.stringify(res.body)}`)
    const started = await this.call('POST', `/containers/${res.body.Id}/start`)
    if (started.status !== 204 && started.status !== 304) throw new Error(`engine ${this.socket} refused to start ${name}: ${JSON.stringify(started.body)}`)
    return res.body.Id
  }

  /** true when the container exists, in any state */
  async exists (id: string): Promise<boolean> {
    return (await this.call('GET', `/containers/${id}/json`)).status === 200
  }

  async remove (id: string): Promise<void> {
    await this.call('DELETE', `/containers/${id}?force=true&v=true`, undefined, 30_000)
  }

  /** the engine's container events between two times (ms since epoch), oldest first: what happened, not what a sample caught */
  async events (filters: Record<string, string[]>, sinceMs: number, untilMs: number): Promise<EngineEvent[]> {
    const query = new URLSearchParams({ since: (sinceMs / 1000).toFixed(3), until: (untilMs / 1000).toFixed(3), filters: JSON.stringify({ type: ['container'], ...filters }) })
    const res = await this.call<string>('GET', `/events?${query.toString()}`, undefined, 30_000)
    if (res.status !== 200) throw new Error(`engine ${this.socket} answered ${res.status} to an events query`)
    const text = res.body === undefined ? '' : typeof res.body === 'string' ? res.body : JSON.stringify(res.body)
    return text.split('\n').filter(l => l.trim() !== '').map(l => JSON.parse(l)).map((e: any) => ({
      action: String(e.Action ?? e.status), id: String(e.Actor?.ID ?? e.id), timeMs: Number(e.timeNano) / 1e6, labels: e.Actor?.Attributes ?? {}
    }))
  }

  /** remove the containers whose labels match, then the networks (a node's service network carries its mesh label) */
  async removeAll (filters: Record<string, string[]>): Promise<void> {
    for (const c of await this.containers(filters)) await this.remove(c.id)
    const query = new URLSearchParams({ filters: JSON.stringify(filters) })
    const networks = await this.call<Array<{ Id: string }>>('GET', `/networks?${query.toString()}`)
    // the bridge of a network outlives a stopped engine on the host: removing the network removes it
    for (const network of networks.status === 200 ? networks.body : []) await this.call('DELETE', `/networks/${network.Id}`, undefined, 30_000)
  }

  /** named volumes whose labels match: name, labels, and their folder on this host */
  async volumes (filters: Record<string, string[]> = {}): Promise<Array<{ name: string, labels: Record<string, string>, mountpoint: string }>> {
    const res = await this.call<{ Volumes: any[] | null }>('GET', `/volumes?filters=${encodeURIComponent(JSON.stringify(filters))}`)
    if (res.status !== 200) throw new Error(`engine ${this.socket} answered ${res.status} to a volume list: ${JSON.stringify(res.body)}`)
    return (res.body.Volumes ?? []).map(v => ({ name: v.Name, labels: v.Labels ?? {}, mountpoint: v.Mountpoint }))
  }

  async removeVolumes (filters: Record<string, string[]>): Promise<void> {
    for (const v of await this.volumes(filters)) await this.call('DELETE', `/volumes/${encodeURIComponent(v.name)}?force=true`, undefined, 30_000)
  }
}

function toInfo (summary: any): ContainerInfo {
  const labels: Record<string, string> = summary.Labels ?? {}
  const status = String(summary.Status ?? '')
  const health: Health = status.includes('(healthy)')
    ? 'healthy'
    : status.includes('(unhealthy)')
      ? 'unhealthy'
      : status.includes('(health: starting)')
        ? 'starting'
        : 'none'
  const info: ContainerInfo = {
    id: summary.Id,
    name: String(summary.Names?.[0] ?? '').replace(/^\//, ''),
    image: summary.Image,
    state: summary.State,
    health,
    created: Number(summary.Created ?? 0) * 1000,
    labels
  }
  if (labels[LABEL.mesh] !== undefined) info.mesh = labels[LABEL.mesh]
  if (labels[LABEL.node] !== undefined) info.node = labels[LABEL.node]
  if (labels[LABEL.service] !== undefined) info.service = labels[LABEL.service]
  if (labels[LABEL.replica] !== undefined) info.replica = Number(labels[LABEL.replica])
  if (labels[LABEL.hash] !== undefined) info.hash = labels[LABEL.hash]
  return info
}
