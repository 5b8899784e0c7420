/**
 * Watching a service while something happens to it: every ~200 ms, the
 * containers of the service on every running engine, with their health, so
 * a test can assert on every moment ("never below N healthy") rather than
 * on the end state only. Health is as the mesh sees it: Docker's, or for a
 * container Docker still reports `starting`, minga's own first probe's pass
 * (a `replica-healthy` event of the node that runs it, since Docker created
 * the container), which comes up to one check interval before Docker's.
 */
import { isServing, type ContainerInfo } from './docker-engines.js'
import type { DockerCluster } from './docker-cluster.js'

export interface Sample {
  /** ms since the sampler started */
  t: number
  containers: Array<ContainerInfo & { at: number }>
}

/**
 * samples the engines' containers every few ms while a test runs, to see the fewest serving and the most copies at any moment
 */
export class Sampler {
  readonly samples: Sample[] = []
  private running = false
  private loop?: Promise<void>
  private began = 0
  /** samples lost because an engine did not answer */
  failures = 0

  constructor (private readonly cluster: DockerCluster, private readonly service: string, private readonly intervalMs = 200) {}

  start (): this {
    this.running = true
    this.began = Date.now()
    this.loop = this.run()
    return this
  }

  /** resolves once `count` samples are in: a test that watches "for a while" watches for so many looks, however slow the machine */
  async collected (count: number): Promise<void> {
    while (this.running && this.samples.length < count) await new Promise(resolve => setTimeout(resolve, this.intervalMs))
  }

  async stop (): Promise<Sample[]> {
    this.running = false
    await this.loop
    await this.withFirstProbes()
    return this.samples
  }

  /** containers Docker reports `starting` that minga's first probe found healthy (see above) are healthy */
  private async withFirstProbes (): Promise<void> {
    const healthyAt = new Map<string, number[]>()
    // a container seen in the first sample may have passed its first probe well before the sampler began (a deploy --wait, then a slow CLI exit)
    const since = Math.min(this.began - 60_000, ...this.samples.flatMap(s => s.containers.map(c => c.created)))
    for (const node of this.cluster.nodes) {
      if (node.process === undefined) continue
      const events: Array<{ kind: string, subject: string, time: number }> = await this.cluster.api(node.index, `/v1/events?since=${since}`).catch(() => [])
      for (const e of events) if (e.kind === 'replica-healthy') healthyAt.set(`${node.index} ${e.subject}`, [...(healthyAt.get(`${node.index} ${e.subject}`) ?? []), e.time])
    }
    // the probe passed for this container: after it was created, before this look. Docker gives the creation to the second;
    // a container that appeared while sampling was created at most one interval before it was first seen
    const createdAt = new Map<string, number>()
    for (const [index, sample] of this.samples.entries()) {
      const at = this.began + sample.t
      for (const c of sample.containers) {
        if (!createdAt.has(c.id)) createdAt.set(c.id, index === 0 ? c.created : Math.max(c.created, at - 2 * this.intervalMs))
        if (c.state !== 'running' || c.health !== 'starting') continue
        const times = healthyAt.get(`${c.at} ${this.service}#${String(c.replica)}`) ?? []
        if (times.some(time => time >= createdAt.get(c.id)! && time <= at)) c.health = 'healthy'
      }
    }
  }

  private async run (): Promise<void> {
    while (this.running) {
      const at = Date.now()
      try {
        this.samples.push({ t: at - this.began, containers: await this.cluster.everywhere(this.service) })
      } catch {
        this.failures++
      }
      await new Promise(resolve => setTimeout(resolve, Math.max(0, this.intervalMs - (Date.now() - at))))
    }
  }
}

/** replica indices with at least one running, healthy container in the sample */
export function servingReplicas (sample: Sample, hash?: string): Set<number> {
  const out = new Set<number>()
  for (const c of sample.containers) {
    if (isServing(c) && c.replica !== undefined && (hash === undefined || c.hash === hash)) out.add(c.replica)
  }
  return out
}

/** one line per sample, for failure messages: `t=1200ms r0:a:abcd:healthy r1:…` */
export function describe (samples: Sample[], limit = 80): string {
  return samples.slice(-limit).map(s => `t=${s.t}ms ` + s.containers
    .map(c => `r${c.replica ?? '?'}@${c.at}:${(c.hash ?? '').slice(0, 6)}:${c.state}/${c.health}`)
    .sort().join(' ')).join('\n')
}

/**
 * the serving copies of a service once at least `count` serve by Docker's own health check; `deploy --wait` returns on
 * minga's health, whose first probe runs at the start, so Docker's status can lag it by an interval or more under load
 */
export async function servingAtLeast (cluster: DockerCluster, service: string, count = 1, timeoutMs = 60_000): Promise<Array<ContainerInfo & { at: number }>> {
  let found: Array<ContainerInfo & { at: number }> = []
  await cluster.waitFor(`${count} cop${count === 1 ? 'y' : 'ies'} of ${service} healthy by Docker's own check`, async () => (found = await cluster.serving(service)).length >= count, timeoutMs)
  return found
}
