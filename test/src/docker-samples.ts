/**
 * Watching a service while something happens to it: every ~200 ms, the
 * containers of the service on every running engine, with their health, so
 * a test can assert on every moment ("never below N healthy") rather than
 * on the end state only.
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
    return this.samples
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
