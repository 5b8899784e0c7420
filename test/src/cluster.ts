/**
 * A mesh of real minga node processes on 127.0.0.1, driven through the real
 * CLI (`node packages/cli/bin/minga.js`), each with its own temp data dir,
 * the in-memory runtime and ephemeral ports. Test mode is on, so a test can
 * cut the mesh apart with `POST /v1/test/partition`. Every process started
 * here is killed when the cluster stops, and in any case when this process
 * exits, so a failed test never leaves nodes behind.
 *
 * @example
 * ```ts
 * const mesh = await startCluster({ nodes: ['acme', 'acme', 'riverside'] })
 * try {
 *   await mesh.cli(mesh.nodes[0], 'deploy', '-f', file)
 *   await mesh.waitForSameDigest()
 * } finally {
 *   await mesh.stop()
 * }
 * ```
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { apiClient } from '@minga/cli'
import { CLI_TIMEOUT, MINGA_BIN, liveChildren, runMinga, type CliResult } from './minga-cli.js'
import { timing, waitFor } from './wait.js'

export interface MingaNode {
  /** n1, n2… for messages */
  readonly name: string
  readonly dir: string
  readonly org: string
  peerId: string
  /** the running `minga up` process, if any */
  process?: ChildProcess
  /** the main host's and the door's addresses, as the running process printed them */
  listen: string[]
  door: string[]
  /** the dashboard and /metrics URL, when this minga serves one */
  http?: string
  /** everything the node process wrote on stderr, across restarts (for failure messages) */
  log: string[]
}

export interface NodeSpec {
  org: string
  /** extra `minga up` arguments, e.g. ['--cpu', '2', '--memory', '4Gi'] */
  upArgs?: string[]
  /** extra environment of its `minga up` process, e.g. libfaketime's (see `fakeClockEnv`) */
  env?: Record<string, string>
}

export interface ClusterOptions {
  /** one organization name (or spec) per node; the first creates the mesh, a new name joins with --new-org */
  nodes: Array<string | NodeSpec>
  /** extra `minga up` arguments for every node */
  upArgs?: string[]
  /** start the nodes (default true); false stops after init/join */
  up?: boolean
  /** join and start at most this many nodes at once (default: a whole wave) */
  concurrency?: number
  /** wait until every node holds the same state and sees every other alive (default true) */
  settle?: boolean
  /** how long a CLI call and a node's start may take (default 45 s; raise it for 20 nodes on 2 cores) */
  timeoutMs?: number
  /**
   * join every node before starting the others (default false), so that joins do not compete for the
   * CPU with many running nodes; a node that must invite others of its organization starts early
   */
  joinFirst?: boolean
}

let httpOption: Promise<string[]> | undefined

/** `--http 127.0.0.1:0` where `minga up` has the option: an ephemeral port, never the shared default 7948 */
async function httpArgs (): Promise<string[]> {
  httpOption ??= runMinga(['up', '--help']).then(help => help.stdout.includes('--http') ? ['--http', '127.0.0.1:0'] : [])
  return await httpOption
}

/**
 * a mesh of real node processes driven through the CLI (see above): init, invite, join, up, kill -9, partitions, and waits on what they report
 */
export class Cluster {
  readonly nodes: MingaNode[] = []
  private readonly upArgs: string[]
  private readonly extraUpArgs = new Map<MingaNode, string[]>()
  /** extra environment of a node's `minga up` */
  readonly upEnv = new Map<MingaNode, Record<string, string>>()
  private readonly root: string
  private readonly timeoutMs: number

  private constructor (root: string, upArgs: string[], timeoutMs: number) {
    this.root = root
    this.upArgs = upArgs
    this.timeoutMs = timeoutMs
  }

  static async create (options: { upArgs?: string[], timeoutMs?: number } = {}): Promise<Cluster> {
    return new Cluster(await mkdtemp(join(tmpdir(), 'minga-mesh-')), options.upArgs ?? [], options.timeoutMs ?? CLI_TIMEOUT)
  }

  /** `minga --data <node dir> ...args` */
  async cli (node: MingaNode, ...args: string[]): Promise<CliResult> {
    const since = Date.now()
    const result = await runMinga(['--data', node.dir, ...args], { timeout: this.timeoutMs })
    timing(`${node.name} minga ${args.join(' ').slice(0, 60)}`, since)
    return result
  }

  /** the parsed `--json` output of a read verb; throws with the CLI's stderr on failure */
  async json<T = any> (node: MingaNode, ...args: string[]): Promise<T> {
    const run = await this.cli(node, ...args, '--json')
    if (run.status !== 0) throw new Error(`minga ${args.join(' ')} on ${node.name} exited ${run.status}: ${run.stderr.trim()}`)
    return JSON.parse(run.stdout) as T
  }

  /** a data dir for a node that has not joined yet */
  newNode (org: string, upArgs: string[] = [], name = `n${this.nodes.length + 1}`): MingaNode {
    const node: MingaNode = { name, dir: join(this.root, name), org, peerId: '', listen: [], door: [], log: [] }
    this.nodes.push(node)
    this.extraUpArgs.set(node, upArgs)
    return node
  }

  /** `minga init --org ORG` in a fresh data dir */
  async init (org: string, upArgs: string[] = []): Promise<MingaNode> {
    const node = this.newNode(org, upArgs)
    const run = await this.cli(node, 'init', '--org', org)
    if (run.status !== 0) throw new Error(`init failed (${run.status}): ${run.stderr}`)
    node.peerId = peerIdIn(run.stdout)
    return node
  }

  /** an invite from `issuer`; extra args e.g. ['--new-org', '--uses', '2'] */
  async invite (issuer: MingaNode, ...args: string[]): Promise<string> {
    const run = await this.cli(issuer, 'invite', ...args)
    if (run.status !== 0) throw new Error(`invite on ${issuer.name} failed (${run.status}): ${run.stderr}`)
    return run.stdout.trim()
  }

  /** a new node of `org` joins through an invite from `via` (a new org name joins with --new-org) */
  async join (org: string, via: MingaNode, upArgs: string[] = []): Promise<MingaNode> {
    const known = this.nodes.some(n => n.org === org && n.peerId !== '')
    // a node invites to its own organization, or to a new one
    const issuer = !known || via.org === org ? via : this.running().find(n => n.org === org)
    if (issuer === undefined) throw new Error(`no running node of ${org} to invite a new one`)
    const token = await this.invite(issuer, ...(known ? [] : ['--new-org']))
    return await this.joinWith(token, org, known ? [] : ['--org', org], upArgs)
  }

  /** a new node runs `minga join TOKEN ...joinArgs`; throws if it fails */
  async joinWith (token: string, org: string, joinArgs: string[] = [], upArgs: string[] = [], name?: string): Promise<MingaNode> {
    const node = this.newNode(org, upArgs, name)
    // a starved machine answers slowly: the door gets as long as any CLI call here (the join is waiting on its answer)
    const run = await this.cli(node, 'join', token, ...joinArgs, '--timeout', `${Math.max(1, Math.floor(this.timeoutMs / 1000) - 5)}s`)
    if (run.status !== 0) throw new Error(`join of ${node.name} (${org}) failed (${run.status}): ${run.stderr}`)
    node.peerId = peerIdIn(run.stdout)
    return node
  }

  /** `minga up` on the node's data dir; resolves once it printed "ready" */
  async up (node: MingaNode): Promise<MingaNode> {
    if (node.process !== undefined) throw new Error(`${node.name} is already running`)
    const args = [
      MINGA_BIN, '--data', node.dir, 'up', '--runtime', 'memory',
      '--listen', '/ip4/127.0.0.1/tcp/0', '--door', '/ip4/127.0.0.1/tcp/0', ...await httpArgs(),
      ...this.upArgs, ...(this.extraUpArgs.get(node) ?? [])
    ]
    const child = spawn(process.execPath, args, { env: { ...process.env, MINGA_TEST_MODE: '1', ...this.upEnv.get(node) }, stdio: ['ignore', 'ignore', 'pipe'] })
    liveChildren.add(child)
    node.process = child
    node.log.push(`--- ${node.name} up (pid ${child.pid})`)
    let buffer = ''
    let ready = false
    const done = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${node.name} did not print "ready" within ${this.timeoutMs / 1000} s:\n${node.log.slice(-20).join('\n')}`)), this.timeoutMs)
      child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
        buffer += chunk
        const lines = buffer.split('\n')
        buffer = lines.pop() ?? ''
        for (const line of lines) {
          node.log.push(line)
          if (node.log.length > 2000) node.log.splice(0, 1000)
          if (line.startsWith('listening on ')) node.listen = line.slice('listening on '.length).split(' ').filter(Boolean)
          if (line.startsWith('door on ')) node.door = line.slice('door on '.length).split(' ').filter(Boolean)
          if (line.startsWith('http on ')) node.http = line.slice('http on '.length).split(' ')[0]
          if (line === 'ready' && !ready) { ready = true; clearTimeout(timer); resolve() }
        }
      })
      child.on('exit', (code, signal) => {
        liveChildren.delete(child)
        if (node.process === child) node.process = undefined
        node.log.push(`--- ${node.name} exited (${code ?? signal})`)
        if (!ready) { clearTimeout(timer); reject(new Error(`${node.name} exited (${code ?? signal}) before it was ready:\n${node.log.slice(-20).join('\n')}`)) }
      })
    })
    const since = Date.now()
    await done
    timing(`${node.name} up`, since)
    return node
  }

  /** kill -9: no goodbye, no flush */
  async kill9 (node: MingaNode): Promise<void> {
    await this.signal(node, 'SIGKILL')
  }

  /** a clean stop (SIGTERM) */
  async down (node: MingaNode): Promise<void> {
    await this.signal(node, 'SIGTERM')
  }

  /** start a stopped or killed node again on its data dir */
  async restart (node: MingaNode): Promise<MingaNode> {
    if (node.process !== undefined) await this.kill9(node)
    return await this.up(node)
  }

  /** cut the mesh in two: each side's gater refuses and drops the other side (test mode) */
  async partition (a: MingaNode[], b: MingaNode[]): Promise<void> {
    await Promise.all([
      ...a.map(async n => await this.block(n, b)),
      ...b.map(async n => await this.block(n, a))
    ])
  }

  /** undo every partition */
  async heal (nodes: MingaNode[] = this.running()): Promise<void> {
    await Promise.all(nodes.map(async n => await this.block(n, [])))
  }

  running (): MingaNode[] {
    return this.nodes.filter(n => n.process !== undefined)
  }

  /** `minga status --json` of every given node */
  async statuses (nodes: MingaNode[] = this.running()): Promise<any[]> {
    return await Promise.all(nodes.map(async n => await this.json(n, 'status')))
  }

  /** `minga nodes --json` as `node` sees them */
  async nodesOf (node: MingaNode): Promise<any[]> {
    return await this.json(node, 'nodes')
  }

  /** `minga ps [service] --json` as `node` sees it */
  async ps (node: MingaNode, service?: string): Promise<any[]> {
    return await this.json(node, 'ps', ...(service === undefined ? [] : [service]))
  }

  /** the node with this peer id */
  byPeer (peerId: string): MingaNode | undefined {
    return this.nodes.find(n => n.peerId === peerId)
  }

  /** waits until every given node reports one state digest; returns it */
  async waitForSameDigest (nodes: MingaNode[] = this.running(), timeoutMs = 45_000): Promise<string> {
    let digests: string[] = []
    await waitFor(async () => {
      digests = (await this.statuses(nodes)).map(s => s.digest)
      return digests.every(d => d === digests[0])
    }, { timeoutMs, label: 'same digest', message: () => `digests differ: ${nodes.map((n, i) => `${n.name}=${digests[i]?.slice(0, 12)}`).join(' ')}` })
    return digests[0]
  }

  /**
   * waits until every given node holds one state digest and sees all of them alive: what a test needs
   * before it acts, or a node may place a service over the part of the mesh it has heard of so far
   */
  async waitForSettled (nodes: MingaNode[] = this.running(), timeoutMs = this.timeoutMs): Promise<void> {
    let statuses: any[] = []
    await waitFor(async () => {
      statuses = await this.statuses(nodes)
      return statuses.every(s => s.digest === statuses[0].digest && s.nodes.alive >= nodes.length)
    }, { timeoutMs, intervalMs: 250, label: 'settled', message: () => `not settled: ${nodes.map((n, i) => `${n.name}=${String(statuses[i]?.digest).slice(0, 12)}/${String(statuses[i]?.nodes?.alive)} alive`).join(' ')}` })
  }

  /** kill every process, remove every data dir */
  async stop (): Promise<void> {
    await Promise.all(this.running().map(async n => await this.kill9(n)))
    await rm(this.root, { recursive: true, force: true })
  }

  /** the last lines each node logged, for a failure message */
  logs (lines = 15): string {
    return this.nodes.map(n => `${n.name} ${n.peerId.slice(-8)}:\n  ${n.log.slice(-lines).join('\n  ')}`).join('\n')
  }

  private async block (node: MingaNode, others: MingaNode[]): Promise<void> {
    await apiClient(join(node.dir, 'api.sock')).post('/v1/test/partition', { blocked: others.map(o => o.peerId) })
  }

  private async signal (node: MingaNode, signal: NodeJS.Signals): Promise<void> {
    const child = node.process
    if (child === undefined) return
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
    child.kill(signal)
    await exited
  }
}

/**
 * Inits the first node and joins the others, in waves: every node of an
 * organization already in the mesh joins at once (through one invite with
 * enough uses), and the first node of a new organization joins with a
 * --new-org invite; then the wave starts together.
 */
export async function startCluster (options: ClusterOptions): Promise<Cluster> {
  const cluster = await Cluster.create({ upArgs: options.upArgs, timeoutMs: options.timeoutMs })
  const up = options.up !== false
  try {
    const specs = options.nodes.map((n, i) => ({ ...(typeof n === 'string' ? { org: n } : n), name: `n${i + 1}` }))
    const first = await cluster.init(specs[0].org, specs[0].upArgs)
    if (specs[0].env !== undefined) cluster.upEnv.set(first, specs[0].env)
    if (up) await cluster.up(first)
    let pending = specs.slice(1)
    while (pending.length > 0) {
      const known = new Set(cluster.nodes.filter(n => n.peerId !== '').map(n => n.org))
      const wave: typeof specs = []
      for (const spec of pending) {
        if (known.has(spec.org) || !wave.some(w => w.org === spec.org)) wave.push(spec)
      }
      pending = pending.filter(p => !wave.includes(p))
      const issuerOf = async (org: string): Promise<MingaNode> => {
        const running = cluster.running().find(n => n.org === org)
        if (running !== undefined || !up) return running ?? first
        // with joinFirst, the organization's first node has joined but not started yet
        return await cluster.up(cluster.nodes.find(n => n.org === org && n.peerId !== '')!)
      }
      const tokens = new Map<string, string>()
      for (const org of new Set(wave.filter(w => known.has(w.org)).map(w => w.org))) {
        tokens.set(org, await cluster.invite(await issuerOf(org), '--uses', String(wave.filter(w => w.org === org).length)))
      }
      for (const spec of wave) if (!known.has(spec.org)) tokens.set(spec.name, await cluster.invite(first, '--new-org'))
      const size = options.concurrency ?? wave.length
      for (let i = 0; i < wave.length; i += size) {
        const joined = await Promise.all(wave.slice(i, i + size).map(async spec => {
          const token = tokens.get(known.has(spec.org) ? spec.org : spec.name)!
          const node = await cluster.joinWith(token, spec.org, known.has(spec.org) ? [] : ['--org', spec.org], spec.upArgs, spec.name)
          if (spec.env !== undefined) cluster.upEnv.set(node, spec.env)
          return node
        }))
        if (up && options.joinFirst !== true) await Promise.all(joined.map(async node => await cluster.up(node)))
      }
    }
    if (up && options.joinFirst === true) {
      const waiting = cluster.nodes.filter(n => n.process === undefined)
      const size = options.concurrency ?? waiting.length
      for (let i = 0; i < waiting.length; i += size) await Promise.all(waiting.slice(i, i + size).map(async node => await cluster.up(node)))
    }
    cluster.nodes.sort((a, b) => Number(a.name.slice(1)) - Number(b.name.slice(1)))
    if (up && options.settle !== false) await cluster.waitForSettled()
    return cluster
  } catch (err) {
    await cluster.stop()
    throw err
  }
}

function peerIdIn (stdout: string): string {
  const match = /This node is (12D3KooW\w+)/.exec(stdout)
  if (match === null) throw new Error(`no peer id in: ${stdout}`)
  return match[1]
}
