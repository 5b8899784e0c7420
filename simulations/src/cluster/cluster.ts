/**
 * The simulated mesh: the simulator, the network, every node, and what the
 * nodes share to make thousands of them affordable without changing what
 * any of them computes:
 *   - one signature-verdict cache (an entry's signature is checked once in
 *     the whole simulation, not once per node), keyed by the signature;
 *   - one placement cache (nodes that see the same state digest and live
 *     set compute the same placement; it is computed once).
 */
import { CorePool, LruPlacementCache, type CpuModel, type MeshEvent } from '@minga/node/core'
import { MemoryPersistence, State, verifyEntry, type Entry, type NodeRecord, type ServiceSpec } from '@minga/protocol'
import { RunDigest } from '../engine/digest.js'
import { Prng } from '../engine/prng.js'
import { SIM_EPOCH, VirtualClock } from '@minga/node/core'
import { Network } from '../network/network.js'
import type { CpuScenario, Scenario } from '../scenario/types.js'
import { buildGenesis, type Genesis } from './genesis.js'
import { simIdentities } from './identities.js'
import { SimNode, type Shared } from './sim-node.js'
import { ingressSpec, makeSpec } from './specs.js'
import { SimIngress } from './ingress.js'
import { SimVolumes } from './volumes.js'
import { WireCache } from './wire-cache.js'
import { clusterStores } from './sharing.js'
import type { SharedStore } from '../engine/shared-store.js'
import { warmMembers } from './warm.js'
import { topics } from '@minga/protocol'

const EVENT_CODES: Record<string, number> = {}

/**
 * The simulated mesh of one scenario: its nodes (SimNode), the modelled network, the shared caches and the run's digest;
 * `Cluster.create(scenario)` builds it from the genesis, `startAll()` boots every node
 */
export class Cluster {
  readonly sim = new VirtualClock()
  readonly digest = new RunDigest()
  readonly random: Prng
  readonly nodes: SimNode[] = []
  readonly orgNames: string[]
  readonly orgOf: Int32Array
  readonly specs = new Map<string, ServiceSpec>()
  readonly verdicts = new Map<string, boolean>()
  // the members' placement depends on the state alone: a few states at once (a deploy spreading) hold one each
  readonly placementCache = new LruPlacementCache(64, 8)
  readonly wire = new WireCache()
  readonly stores = clusterStores()
  net!: Network
  genesis!: Genesis
  /** volumes and their backups, in scenarios with volumes */
  volumes?: SimVolumes
  /** the routing mesh's model, in scenarios with clients (`ingress`) */
  ingress?: SimIngress
  private shared!: Shared
  private readonly listeners = new Set<(node: SimNode, event: MeshEvent) => void>()

  private constructor (readonly scenario: Scenario) {
    this.random = new Prng(scenario.seed, 'cluster')
    this.orgNames = Array.from({ length: scenario.orgs }, (_, o) => `org-${String(o + 1).padStart(2, '0')}`)
    this.orgOf = assignOrgs(scenario.nodes, scenario.orgs, scenario.orgShares)
  }

  static async create (scenario: Scenario): Promise<Cluster> {
    const cluster = new Cluster(scenario)
    await cluster.build()
    return cluster
  }

  onEvent (listener: (node: SimNode, event: MeshEvent) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  get live (): SimNode[] {
    return this.nodes.filter(n => n.up)
  }

  nodesOf (org: string): SimNode[] {
    return this.nodes.filter(n => n.org === org)
  }

  private async build (): Promise<void> {
    const s = this.scenario
    const identities = await simIdentities(s.seed, s.nodes)
    const regions = s.network.regions.length
    const region = Int32Array.from(this.orgOf, o => o % regions)
    const record = (v: number): NodeRecord => ({ labels: { region: s.network.regions[region[v]] }, addrs: [], capacity: { cpu: s.node.cpu, memory: s.node.memory } })
    const serviceRandom = this.random.fork('services')
    const firstOf = new Map<number, number>()
    this.orgOf.forEach((o, v) => { if (!firstOf.has(o)) firstOf.set(o, v) })
    const services: Array<{ spec: ServiceSpec, by: number }> = []
    for (let i = 0; i < s.services.count; i++) {
      const o = serviceRandom.int(s.orgs)
      const backupInterval = s.services.volumes === 0 ? undefined : i < s.services.volumes ? s.backup.interval : 0
      const spec = makeSpec(s.services, this.orgNames[o], `svc-${String(i + 1).padStart(5, '0')}`, serviceRandom, i < s.services.singletons, backupInterval)
      services.push({ spec, by: firstOf.get(o)! })
      this.specs.set(`${spec.org}/${spec.name}`, spec)
    }
    const ingress = s.ingress === undefined ? undefined : ingressSpec(s.ingress, this.orgNames[0])
    if (ingress !== undefined) {
      services.push({ spec: ingress, by: firstOf.get(0)! })
      this.specs.set(`${ingress.org}/${ingress.name}`, ingress)
    }
    this.genesis = buildGenesis({ seed: s.seed, identities, orgOf: this.orgOf, orgNames: this.orgNames, record, services, start: SIM_EPOCH - 3_600_000 })
    this.net = new Network({ sim: this.sim, params: s.network, seed: s.seed, peerIds: identities.map(i => i.peerId), org: this.orgOf, region, digest: this.digest })
    const meshId = this.genesis.meshId
    this.net.overlay(topics.entries(meshId))
    const verdicts = this.verdicts
    if (s.services.volumes > 0) this.volumes = new SimVolumes(s.backup, () => this.nodes, this.specs)
    if (ingress !== undefined) this.ingress = new SimIngress({ sim: this.sim, net: this.net, meshId, model: s.ingress!, service: `${ingress.org}/${ingress.name}` })
    const shared: Shared = this.shared = {
      volumes: this.volumes,
      ingress: this.ingress,
      sim: this.sim,
      net: this.net,
      meshId,
      root: this.genesis.root,
      seed: s.seed,
      timing: s.timing,
      verify: (mesh: string, entry: Entry) => {
        let verdict = verdicts.get(entry.sig)
        if (verdict === undefined) { verdict = verifyEntry(mesh, entry); verdicts.set(entry.sig, verdict) }
        return verdict
      },
      placementCache: this.placementCache,
      wire: this.wire,
      stores: this.stores,
      start: await this.genesisStart(),
      ...(s.cpu === undefined ? {} : { cpu: cpuOf(s.cpu) }),
      onEvent: (node, event) => {
        this.digest.add(event.time, node.index, EVENT_CODES[event.kind] ??= Object.keys(EVENT_CODES).length + 100)
        for (const listener of this.listeners) listener(node, event)
      }
    }
    const delays = this.random.fork('start-delay')
    for (let v = 0; v < s.nodes; v++) {
      this.nodes.push(new SimNode(v, identities[v], this.orgNames[this.orgOf[v]], record(v), delays.lognormal(s.runtime.startDelay.median, s.runtime.startDelay.sigma), s.runtime.failureRate, shared))
    }
  }

  /**
   * Every node's start, filled once: one disk seeded with the genesis and one State opened on it (the real
   * replay, once); each node's disk is a fork of that disk and its first State starts from a fork of that
   * state's maps (State.image), so building N nodes costs O(N · chunks), not O(N · entries), and a node's
   * writes land in chunks of its own (copy on write)
   */
  private async genesisStart (): Promise<Shared['start']> {
    const disk = new Map<string, SharedStore<any>>()
    const persistence = new MemoryPersistence(<V>(kind: string) => {
      const store = this.stores<V>(kind) as SharedStore<V>
      disk.set(kind, store)
      return store
    })
    await persistence.save({ entries: this.genesis.entries, marks: this.genesis.marks })
    const state = await State.open({ meshId: this.genesis.meshId, root: this.genesis.root, persistence, now: () => this.sim.now(), stores: this.stores })
    const fork = <V>(store: unknown): SharedStore<V> => (store as SharedStore<V>).fork()
    return {
      disk: <V>(kind: string) => disk.has(kind) ? fork<V>(disk.get(kind)) : this.stores<V>(kind),
      image: () => state.image(fork),
      installs: state.size
    }
  }

  /** boot every node at once (their timers then run out of phase, as real ones do) */
  async startAll (): Promise<void> {
    if (this.scenario.warm) this.shared.warmMembers = warmMembers(this.stores, this.genesis.meshId, this.nodes.map(n => n.identity), this.sim.now())
    for (const node of this.nodes) await node.start()
    this.volumes?.startWriting(this.sim)
  }

  /** the entry a node holds under a key, for the invariant checks */
  static holds (node: SimNode, entry: Entry): boolean {
    const held = node.current?.state.get(entry.key)
    if (held === undefined) return false
    return held.hlc > entry.hlc || (held.hlc === entry.hlc && held.author >= entry.author)
  }
}

/** each process's CPU model: the one machine's cores when the nodes share one (`cores`), else a core of its own */
function cpuOf (cpu: CpuScenario): (index: number) => CpuModel {
  const machine = cpu.cores === undefined ? undefined : new CorePool(cpu.cores)
  return () => ({ costs: cpu.costs, cores: machine ?? new CorePool(1), ...(cpu.idle === undefined ? {} : { idle: cpu.idle }) })
}

/** org index per node: the first orgs get their fixed shares, the rest split what remains evenly */
export function assignOrgs (nodes: number, orgs: number, shares: number[]): Int32Array {
  const out = new Int32Array(nodes)
  const sizes = new Array(orgs).fill(0)
  let fixed = 0
  shares.slice(0, orgs).forEach((share, o) => { sizes[o] = Math.max(1, Math.round(share * nodes)); fixed += sizes[o] })
  const rest = orgs - Math.min(shares.length, orgs)
  const remaining = Math.max(0, nodes - fixed)
  for (let o = shares.length; o < orgs; o++) sizes[o] = Math.floor(remaining / rest) + ((o - shares.length) < remaining % rest ? 1 : 0)
  let v = 0
  for (let o = 0; o < orgs; o++) for (let k = 0; k < sizes[o] && v < nodes; k++) out[v++] = o
  while (v < nodes) out[v++] = orgs - 1
  return out
}
