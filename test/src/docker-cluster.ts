/**
 * A mesh of real `minga up` processes on one machine, each node on its own
 * Docker engine, set up the way an operator does it: `minga init` on the
 * first node, `minga invite` / `minga join` for the others. The tests drive
 * it through the CLI and watch the engines directly (docker-engines.ts).
 *
 * @example
 * ```ts
 * const { engines: started, it } = await dockerTests(['e2e-a', 'e2e-b', 'e2e-c'])
 * const cluster = await DockerCluster.start(started, { orgs: ['acme', 'acme', 'riverside'] })
 * try {
 *   await cluster.deploy(0, WEB)
 *   await cluster.waitFor('2 healthy', async () => (await cluster.serving('acme/web')).length === 2)
 * } finally { await cluster.close() }
 * ```
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createWriteStream, rmSync, type WriteStream } from 'node:fs'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { request } from 'node:http'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { REPO_ROOT, isServing, stopEngine, startEngine, type ContainerInfo, type Engine } from './docker-engines.js'
import type { NetnsNode } from './netns.js'

const BIN = join(REPO_ROOT, 'packages/cli/bin/minga.js')
const CLI_TIMEOUT_MS = 120_000
const LIVE = new Set<ChildProcess>()
const DIRS = new Set<string>()

// never leave node processes or data dirs behind, whatever ends the test run
process.once('exit', () => {
  for (const child of LIVE) child.kill('SIGKILL')
  for (const dir of DIRS) rmSync(dir, { recursive: true, force: true })
})

export interface ClusterNode {
  index: number
  dataDir: string
  engine: Engine
  org: string
  peerId: string
  listenPort: number
  doorPort: number
  logPath: string
  /** where the node's published ports and shared web ports listen: a loopback address of its own */
  publishOn: string
  process?: ChildProcess
  /** the engine was stopped by the test */
  engineStopped?: boolean
  /** what `minga init` or `minga join` printed when the node was set up (an org's recovery key among it) */
  setup: string
}

export interface CliResult { code: number, stdout: string, stderr: string }

export interface ClusterOptions {
  /** organization of each node; nodes after the first join by invite (a new org gets a --new-org invite) */
  orgs?: string[]
  /** extra environment for every node process */
  env?: Record<string, string>
  /** extra `minga up` arguments of each node, by index (e.g. labels) */
  upArgs?: string[][]
  /**
   * each node's network namespace, by index (netns.ts): its process and its
   * CLI run there and it listens on the namespace's address, so that it can
   * vanish without a word (`NetnsSwitch.cut`)
   */
  netns?: NetnsNode[]
}

/** a mesh of `minga up` processes, each on its own Docker engine (see above), set up as an operator does it */
export class DockerCluster {
  readonly nodes: ClusterNode[] = []
  meshId = ''

  private constructor (readonly dir: string, private readonly env: Record<string, string>, private readonly upArgs: string[][] = [], private readonly netns: NetnsNode[] = []) {}

  static async start (engines: Engine[], options: ClusterOptions = {}): Promise<DockerCluster> {
    const dir = await mkdtemp(join(tmpdir(), 'minga-e2e-'))
    DIRS.add(dir)
    const cluster = new DockerCluster(dir, options.env ?? {}, options.upArgs ?? [], options.netns ?? [])
    const orgs = options.orgs ?? engines.map(() => 'acme')
    try {
      for (const [index, engine] of engines.entries()) {
        const org = orgs[index]
        if (index === 0) {
          await cluster.add(engine, org, ['init', '--org', org])
        } else {
          const newOrg = !cluster.nodes.some(n => n.org === org)
          const token = (await cluster.mustMinga(0, newOrg ? ['invite', '--new-org'] : ['invite'])).stdout.trim()
          await cluster.add(engine, org, ['join', token, ...(newOrg ? ['--org', org] : [])])
        }
      }
      // every node alive in every view, and one state everywhere: then all place alike
      await cluster.waitFor('every node sees every other alive, with the same state', async () => {
        for (const node of cluster.nodes) {
          const status = await cluster.api(node.index, '/v1/status')
          if (status.nodes.alive !== cluster.nodes.length || status.agreeing !== cluster.nodes.length) return false
        }
        return true
      })
      return cluster
    } catch (err) {
      await cluster.close({ failed: true })
      throw err
    }
  }

  /**
   * A new node on `engine`, set up by `minga SETUP...` (init, or join with
   * its token and flags) on a new data dir, then `minga up`: resolves once it
   * is ready, with its peer id
   */
  async add (engine: Engine, org: string, setup: string[]): Promise<ClusterNode> {
    const index = this.nodes.length
    const node: ClusterNode = {
      index,
      engine,
      org,
      peerId: '',
      dataDir: join(this.dir, `n${index}`),
      logPath: join(this.dir, `n${index}.log`),
      listenPort: await freePort(),
      doorPort: await freePort(),
      publishOn: publishAddress(index),
      setup: ''
    }
    node.setup = (await this.mustMinga(node, setup)).stdout
    this.meshId = JSON.parse(await readFile(join(node.dataDir, 'mesh.json'), 'utf8')).meshId
    this.nodes.push(node)
    await this.up(index)
    node.peerId = (await this.api(index, '/v1/status')).node
    return node
  }

  /**
   * The node is lost for good, as a server hit by lightning: its process and
   * its supervisors killed, its engine's containers and volumes removed, the
   * engine stopped, its data dir deleted
   */
  async destroy (index: number): Promise<void> {
    const node = this.nodes[index]
    await this.kill(index)
    await killSupervisors(node.dataDir)
    await node.engine.api.removeAll({ label: [`io.minga.mesh=${this.meshId}`] })
    await node.engine.api.removeVolumes({ label: [`io.minga.mesh=${this.meshId}`] })
    await this.stopEngine(index)
    await rm(node.dataDir, { recursive: true, force: true })
  }

  /** run `minga --data <node> ...args` */
  async minga (node: number | ClusterNode, args: string[], timeoutMs = CLI_TIMEOUT_MS): Promise<CliResult> {
    const n = typeof node === 'number' ? this.nodes[node] : node
    return await new Promise((resolve, reject) => {
      const [command, argv] = this.command(n.index, [BIN, '--data', n.dataDir, ...args])
      const child = spawn(command, argv, { stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs })
      let stdout = ''
      let stderr = ''
      child.stdout.on('data', (c: Buffer) => { stdout += c.toString() })
      child.stderr.on('data', (c: Buffer) => { stderr += c.toString() })
      child.on('error', reject)
      child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }))
    })
  }

  /** like `minga`, but a non-zero exit is an error that shows the output */
  async mustMinga (node: number | ClusterNode, args: string[], timeoutMs?: number): Promise<CliResult> {
    const result = await this.minga(node, args, timeoutMs)
    if (result.code !== 0) throw new Error(`minga ${args.join(' ')} exited ${result.code}:\n${result.stderr}${result.stdout}`)
    return result
  }

  /** `minga deploy -f` of a spec text */
  async deploy (node: number, spec: string, extra: string[] = []): Promise<CliResult> {
    const file = join(this.dir, `spec-${Date.now()}-${Math.random().toString(36).slice(2)}.yaml`)
    await writeFile(file, spec)
    return await this.mustMinga(node, ['deploy', '-f', file, ...extra])
  }

  /** a GET on a node's control API, answered as JSON */
  async api (node: number, path: string): Promise<any> {
    return JSON.parse(await this.apiText(node, path))
  }

  /** one unlabelled series of a node's Prometheus metrics, e.g. minga_reconcile_runs_total */
  async metric (node: number, name: string): Promise<number> {
    const line = (await this.apiText(node, '/v1/metrics')).split('\n').find(l => l.startsWith(`${name} `))
    if (line === undefined) throw new Error(`node ${node} has no metric ${name}`)
    return Number(line.slice(name.length + 1))
  }

  private async apiText (node: number, path: string): Promise<string> {
    const socketPath = join(this.nodes[node].dataDir, 'api.sock')
    return await new Promise((resolve, reject) => {
      const req = request({ socketPath, path, timeout: 10_000 }, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
      })
      req.on('timeout', () => req.destroy(new Error(`node ${node} did not answer ${path}`)))
      req.on('error', reject)
      req.end()
    })
  }

  /** `minga up` the node on its data dir and engine; resolves once it says ready */
  async up (index: number): Promise<void> {
    const node = this.nodes[index]
    const log = createWriteStream(node.logPath, { flags: 'a' })
    const host = this.netns[index]?.address ?? '127.0.0.1'
    const [command, argv] = this.command(index, [BIN, '--data', node.dataDir, 'up',
      '--docker-host', node.engine.socket,
      '--listen', `/ip4/${host}/tcp/${node.listenPort}`,
      '--door', `/ip4/${host}/tcp/${node.doorPort}`,
      // each node publishes on a loopback address of its own, as separate servers do on theirs; test containers never ask the outside world for names
      '--publish-on', node.publishOn,
      '--dns-upstream', 'off',
      ...(this.upArgs[index] ?? []),
      '--http', 'off'])
    const child = spawn(command, argv, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...this.env } })
    LIVE.add(child)
    node.process = child
    child.on('exit', () => { LIVE.delete(child); if (node.process === child) node.process = undefined })
    await waitReady(child, log, 60_000)
  }

  /** node's command line: node itself, or through nsenter into the node's namespace */
  private command (index: number, args: string[]): [string, string[]] {
    const ns = this.netns[index]
    return ns === undefined ? [process.execPath, args] : ['nsenter', [`--net=${ns.path}`, process.execPath, ...args]]
  }

  /** kill -9 the node's process */
  async kill (index: number): Promise<void> {
    const child = this.nodes[index].process
    if (child === undefined) return
    const exited = new Promise(resolve => child.once('exit', resolve))
    child.kill('SIGKILL')
    await exited
  }

  async stopEngine (index: number): Promise<void> {
    this.nodes[index].engineStopped = true
    await stopEngine(this.nodes[index].engine.name)
  }

  async startEngine (index: number): Promise<void> {
    await startEngine(this.nodes[index].engine.name, { bridge: this.nodes[index].engine.netns !== undefined })
    this.nodes[index].engineStopped = false
  }

  /**
   * this mesh's containers on one node's engine, any state; none when its
   * engine is stopped. Warm standbys (created, never started: not replicas)
   * only with `standbys`
   */
  async containers (index: number, service?: string, options: { standbys?: boolean } = {}): Promise<ContainerInfo[]> {
    const node = this.nodes[index]
    if (node.engineStopped === true) return []
    const label = [`io.minga.mesh=${this.meshId}`, ...(service === undefined ? [] : [`io.minga.service=${service}`])]
    const all = await node.engine.api.containers({ label })
    return options.standbys === true ? all : all.filter(c => !isStandby(c))
  }

  /** containers of a service on every engine that runs, with the index of the engine's node; standbys only with `standbys` */
  async everywhere (service?: string, options: { standbys?: boolean } = {}): Promise<Array<ContainerInfo & { at: number }>> {
    const lists = await Promise.all(this.nodes.map(async n => (await this.containers(n.index, service, options)).map(c => ({ ...c, at: n.index }))))
    return lists.flat()
  }

  /** containers of a service that run and pass their health check, on any engine */
  async serving (service: string): Promise<Array<ContainerInfo & { at: number }>> {
    return (await this.everywhere(service)).filter(isServing)
  }

  /** poll until `check` is true (or returns nothing falsy), failing after `timeoutMs` with `what` */
  async waitFor (what: string, check: () => Promise<boolean>, timeoutMs = 60_000, intervalMs = 250): Promise<void> {
    const deadline = Date.now() + timeoutMs
    let last: unknown
    while (Date.now() < deadline) {
      try {
        if (await check()) return
      } catch (err) { last = err }
      await sleep(intervalMs)
    }
    throw new Error(`Timed out after ${timeoutMs} ms waiting for: ${what}${last === undefined ? '' : ` (last error: ${String(last)})`}`)
  }

  /** the last lines of every node's log, its last events and its ps, to print when a test fails */
  async logs (lines = 40): Promise<string> {
    const parts: string[] = []
    for (const node of this.nodes) {
      const text = await readFile(node.logPath, 'utf8').catch(() => '')
      parts.push(`--- node ${node.index} (${node.peerId.slice(-8)}) ---\n${text.split('\n').slice(-lines).join('\n')}`)
      if (node.process === undefined) continue
      const events: any[] = await this.api(node.index, '/v1/events').catch(() => [])
      parts.push(events.slice(-lines).map(e => `${new Date(e.time).toISOString().slice(11, 23)} ${e.kind} ${String(e.subject).slice(-24)} ${e.reason}`).join('\n'))
      parts.push('ps: ' + JSON.stringify(await this.api(node.index, '/v1/ps').catch((err: unknown) => String(err))))
    }
    return parts.join('\n')
  }

  /**
   * Kill every node, remove this mesh's containers from the engines, start
   * again an engine the test stopped (the next test needs it) and delete the
   * data dirs. The engines stop when the test process exits (docker-engines.ts).
   * Safe to call twice and after a failure
   */
  async close (options: { failed?: boolean } = {}): Promise<void> {
    if (options.failed === true) console.error(await this.logs())
    for (const node of this.nodes) await this.kill(node.index).catch(() => {})
    // the nodes' supervisors outlive them by design; the test is over, so they go too
    for (const node of this.nodes) await killSupervisors(node.dataDir)
    for (const node of this.nodes) {
      try {
        if (node.engineStopped === true) await this.startEngine(node.index)
        if (this.meshId !== '') await node.engine.api.removeAll({ label: [`io.minga.mesh=${this.meshId}`] })
        if (this.meshId !== '') await node.engine.api.removeVolumes({ label: [`io.minga.mesh=${this.meshId}`] })
      } catch (err) {
        // cleaning up after a test: say what could not be removed, and go on with the rest
        console.error(`engine ${node.index}: ${String(err)}`)
      }
    }
    await rm(this.dir, { recursive: true, force: true })
    DIRS.delete(this.dir)
  }
}

/** run `body` with the cluster; on failure print the nodes' logs; always close it */
export async function withCluster (engines: Engine[], options: ClusterOptions, body: (cluster: DockerCluster) => Promise<void>): Promise<void> {
  const cluster = await DockerCluster.start(engines, options)
  let failed = true
  try {
    await body(cluster)
    failed = false
  } finally {
    await cluster.close({ failed })
  }
}

async function waitReady (child: ChildProcess, log: WriteStream, timeoutMs: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    let seen = ''
    const timer = setTimeout(() => reject(new Error(`node did not say ready within ${timeoutMs} ms:\n${seen}`)), timeoutMs)
    const onData = (chunk: Buffer): void => {
      log.write(chunk)
      if (!seen.includes('\nready\n')) {
        seen += chunk.toString()
        if (/(^|\n)ready\n/.test(seen)) { clearTimeout(timer); resolve() }
      }
    }
    child.stdout?.on('data', onData)
    child.stderr?.on('data', onData)
    child.once('exit', (code, signal) => { clearTimeout(timer); log.end(); reject(new Error(`node exited (${code ?? signal}) before it was ready:\n${seen}`)) })
  })
}

/**
 * node `index`'s publish address: 127.X.Y.(index+1), X.Y from this process's
 * id, so test runs of different checkouts on one machine publish apart
 */
export function publishAddress (index: number): string {
  return `127.${100 + ((process.pid >> 8) % 150)}.${process.pid % 256}.${index + 1}`
}

/** the supervisors of a data dir (their pid files), SIGKILLed */
export async function killSupervisors (dataDir: string): Promise<number[]> {
  const files = (await readdir(dataDir).catch(() => [] as string[])).filter(f => /^supervisor-.*\.pid$/.test(f))
  const pids: number[] = []
  for (const file of files) {
    const pid = Number((await readFile(join(dataDir, file), 'utf8').catch(() => '')).trim())
    if (!Number.isSafeInteger(pid) || pid <= 1) continue
    try { process.kill(pid, 'SIGKILL'); pids.push(pid) } catch {}
  }
  return pids
}

/** a TCP port on 127.0.0.1 that nothing listens on right now */
export async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => { if (typeof address === 'object' && address !== null) resolve(address.port); else reject(new Error('no port')) })
    })
  })
}

/** a real pause of `ms` */
export async function sleep (ms: number): Promise<void> {
  await new Promise(resolve => setTimeout(resolve, ms))
}

/** a warm standby: created by the node that would take the replica over, never started */
export function isStandby (c: ContainerInfo): boolean {
  return c.state === 'created' && c.labels['io.minga.standby'] === '1'
}
