/**
 * Plays a scenario's timeline on the cluster: kills and restarts, churn,
 * organization loss, partitions, deploys, rolling updates and cordons.
 * Every action goes through the real core (Operations for writes, process
 * kills for failures) and is noted on the observer, which times it.
 */
import { keys, type ServiceSpec } from '@minga/protocol'
import type { Cluster } from '../cluster/cluster.js'
import type { SimNode } from '../cluster/sim-node.js'
import { makeSpec, nextVersion } from '../cluster/specs.js'
import type { Prng } from '../engine/prng.js'
import type { Observer } from '../measure/observer.js'
import type { Change } from '../measure/series.js'
import type { Action } from './types.js'

/**
 * plays a scenario's timeline (deploys, kills, partitions, organization loss) on the cluster at their virtual times, through the real core
 */
export class Timeline {
  private readonly random: Prng
  private deployed = 0
  /** writes still in flight; the run waits for them before checking invariants */
  readonly inFlight = new Set<Promise<void>>()

  constructor (private readonly cluster: Cluster, private readonly observer: Observer) {
    this.random = cluster.random.fork('timeline')
  }

  schedule (actions: Action[]): void {
    const { sim } = this.cluster
    for (const action of actions) sim.at(sim.epoch + action.at, () => { this.play(action) })
  }

  private play (action: Action): void {
    switch (action.kind) {
      case 'kill': return this.kill(action)
      case 'churn': return this.churn(action)
      case 'org-loss': return this.orgLoss(action)
      case 'partition': return this.partition(action)
      case 'deploy': return this.deploy(action)
      case 'rolling-update': return this.rollingUpdate(action)
      case 'cordon': return this.cordon(action)
      case 'stall': return this.stall(action)
      case 'slow': return this.slow(action)
    }
  }

  private pickLive (count: number): SimNode[] {
    return this.random.shuffle(this.cluster.live).slice(0, count)
  }

  private kill (action: Extract<Action, { kind: 'kill' }>): void {
    const service = this.cluster.ingress?.service
    const victims = action.serving === undefined || service === undefined
      ? this.pickLive(action.nodes)
      : this.cluster.live.filter(n => n.running().some(r => r.service === service)).slice(0, action.nodes)
    const now = this.cluster.sim.elapsed
    this.observer.note('kill', `kill ${victims.length} node(s)`, victims.map(v => v.id))
    for (const v of victims) {
      this.observer.detection.killedNow(v, action.silent)
      v.kill({ silent: action.silent, process: action.process, supervised: action.supervised })
    }
    if (action.restartAfter !== undefined) {
      this.observer.window(now, now + action.restartAfter, 'kill', 'node(s) down')
      this.cluster.sim.after(action.restartAfter, () => { for (const v of victims) this.restart(v) })
    } else {
      this.observer.window(now, now, 'kill', 'node(s) killed')
    }
  }

  private restart (node: SimNode): void {
    if (node.up || node.vanished) return
    this.observer.note('restart', `restart ${node.id.slice(-6)}`, [node.id])
    this.track(node.start())
  }

  private churn (action: Extract<Action, { kind: 'churn' }>): void {
    const { sim } = this.cluster
    const end = sim.epoch + action.until
    this.observer.window(action.at, action.until, 'churn', `churn, MTBF ${Math.round(action.mtbf / 60_000)} min`)
    const arm = (node: SimNode): void => {
      const at = sim.now() + this.random.exponential(action.mtbf)
      if (at >= end) return
      sim.at(at, () => {
        if (!node.up) return
        this.observer.note('kill', `churn: ${node.id.slice(-6)} fails`, [node.id])
        this.observer.detection.killedNow(node, false)
        node.kill()
        sim.after(this.random.exponential(action.repair), () => {
          this.restart(node)
          arm(node)
        })
      })
    }
    for (const node of this.cluster.live) arm(node)
  }

  private orgLoss (action: Extract<Action, { kind: 'org-loss' }>): void {
    const sizes = this.cluster.orgNames.map(org => this.cluster.nodesOf(org).length)
    const index = action.org === 'largest' ? sizes.indexOf(Math.max(...sizes)) : action.org
    const org = this.cluster.orgNames[index]
    const victims = this.cluster.nodesOf(org).filter(n => n.up)
    this.observer.note('org-loss', `${org} vanishes (${victims.length} nodes)`, victims.map(v => v.id))
    this.observer.window(action.at, action.at, 'org-loss', `${org} vanishes`)
    for (const v of victims) { this.observer.detection.killedNow(v, true); v.kill({ vanish: true }) }
  }

  private partition (action: Extract<Action, { kind: 'partition' }>): void {
    const { net, sim, nodes } = this.cluster
    const order = this.random.shuffle(nodes.map(n => n.index))
    const side1 = new Set(order.slice(0, Math.round(order.length * action.share)))
    const ids = new Set([...side1].map(i => nodes[i].id))
    net.partition(v => side1.has(v) ? 1 : 0)
    this.observer.note('partition', `partition ${side1.size} / ${nodes.length - side1.size}`, [], { side: ids })
    this.observer.window(action.at, action.at + action.duration, 'partition', 'partition')
    sim.after(action.duration, () => {
      net.heal()
      this.observer.note('heal', 'partition heals')
    })
  }

  private deploy (action: Extract<Action, { kind: 'deploy' }>): void {
    const s = this.cluster.scenario
    const change = this.observer.note('deploy', `deploy ${action.services} service(s)`)
    this.observer.window(action.at, action.at + action.over, 'deploy', 'deploy')
    change.pendingWrites++
    this.later(action.over, () => { change.pendingWrites-- })
    const one = action.author === 'one' ? this.random.pick(this.cluster.orgNames) : undefined
    const author = one === undefined ? undefined : this.author(one)
    for (let i = 0; i < action.services; i++) {
      const org = one ?? this.random.pick(this.cluster.orgNames)
      const spec = makeSpec(s.services, org, `new-${String(++this.deployed).padStart(5, '0')}`, this.random, false)
      this.later(action.over * i / Math.max(1, action.services), () => this.write(change, spec, author))
    }
  }

  /** a live node of `org` picked at random, to write its services */
  private author (org: string): SimNode | undefined {
    const authors = this.cluster.nodesOf(org).filter(n => n.up)
    return authors.length === 0 ? undefined : this.random.pick(authors)
  }

  private rollingUpdate (action: Extract<Action, { kind: 'rolling-update' }>): void {
    const all = [...this.cluster.specs.values()].sort((a, b) => `${a.org}/${a.name}` < `${b.org}/${b.name}` ? -1 : 1)
    const chosen = action.services === 'all' ? all : this.random.shuffle(all).slice(0, action.services)
    const change = this.observer.note('update', `update ${chosen.length} service(s)`)
    this.observer.window(action.at, action.at + action.over, 'update', 'rolling update')
    change.pendingWrites++
    this.later(action.over, () => { change.pendingWrites-- })
    chosen.forEach((spec, i) => { this.later(action.over * i / Math.max(1, chosen.length), () => this.write(change, nextVersion(spec))) })
  }

  private cordon (action: Extract<Action, { kind: 'cordon' }>): void {
    const victims = this.pickLive(action.nodes)
    const change = this.observer.note('cordon', `cordon ${victims.length} node(s)`, victims.map(v => v.id))
    this.observer.window(action.at, action.at, 'cordon', 'cordon')
    for (const v of victims) {
      change.pendingWrites++
      this.track((async () => {
        try {
          await v.current!.core.operations.cordon(v.id, 'simulated maintenance')
          const entry = v.current?.state.get(keys.cordon(v.id))
          if (entry !== undefined) this.observer.acknowledge(change, entry)
        } finally {
          change.pendingWrites--
        }
      })())
    }
  }

  private stall (action: Extract<Action, { kind: 'stall' }>): void {
    const victims = this.pickLive(action.nodes)
    const { sim } = this.cluster
    const end = sim.epoch + this.cluster.scenario.duration
    this.observer.note('stall', `CPU of ${victims.length} node(s) stalls for ${action.duration / 1000} s${action.every === undefined ? '' : `, every ${action.every / 1000} s`}`, victims.map(v => v.id))
    const once = (): void => {
      const now = sim.elapsed
      this.observer.window(now, now + action.duration, 'stall', 'CPU stalled')
      for (const v of victims) { this.observer.detection.impairedUntil(v, sim.now() + action.duration); v.stall(action.duration) }
      if (action.every !== undefined && sim.now() + action.every < end) sim.after(action.every, once)
    }
    once()
  }

  private slow (action: Extract<Action, { kind: 'slow' }>): void {
    const victims = this.pickLive(action.nodes)
    const { net, sim } = this.cluster
    this.observer.note('slow', `${victims.length} node(s) ${action.delay} ms slower for ${action.duration / 1000} s`, victims.map(v => v.id))
    this.observer.window(sim.elapsed, sim.elapsed + action.duration, 'slow', 'slow node(s)')
    for (const v of victims) { this.observer.detection.impairedUntil(v, sim.now() + action.duration); net.slowness[v.index] += action.delay }
    sim.after(action.duration, () => { for (const v of victims) net.slowness[v.index] -= action.delay })
  }

  /** deploy from `by`, or a live node of the service's org; the entry counts as acknowledged once the write resolves */
  private write (change: Change, spec: ServiceSpec, by?: SimNode): void {
    const author = by?.up === true ? by : this.author(spec.org)
    if (author === undefined) return
    const { core, clock, died } = author.current!
    change.pendingWrites++
    this.track((async () => {
      try {
        // the API's work (parse, check, sign) on the author's CPU, when the scenario charges it; an author that dies meanwhile writes nothing
        if (clock.work !== undefined && !await Promise.race([clock.work('write').then(() => true), died.then(() => false)])) return
        await core.operations.deploy([spec])
        const entry = core.state.get(keys.service(spec.org, spec.name))
        if (entry === undefined) return
        this.cluster.specs.set(`${spec.org}/${spec.name}`, spec)
        this.observer.acknowledge(change, entry)
      } finally {
        change.pendingWrites--
      }
    })())
  }

  private later (ms: number, fn: () => void): void {
    this.cluster.sim.after(ms, fn)
  }

  private track (work: Promise<void>): void {
    const guarded = work.catch((err: unknown) => { this.cluster.net.guard(() => { throw err }) })
    this.inFlight.add(guarded)
    void guarded.finally(() => this.inFlight.delete(guarded))
  }
}
