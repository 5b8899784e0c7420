/**
 * The supervisor's view of the Docker engine: the five calls it needs
 * (list, inspect for the pid, stop, remove, start events), over the
 * Engine API directly. Not dockerode: the supervisor runs beside every
 * node for as long as it does, and dockerode alone adds ~30 MB to a
 * process that otherwise needs ~40 (`npm run bench -- supervisor`).
 * Only containers labelled with this mesh and this node are ever touched.
 */
import { request, type IncomingMessage } from 'node:http'
import type { SupervisedContainer, SupervisedEngine } from '../core/supervision/types.js'
import type { EngineAddress } from '../runtime/docker-address.js'
import { LABELS } from '../runtime/types.js'
import { LineBuffer } from './lines.js'

export interface SupervisorDockerInit {
  address: EngineAddress
  meshId: string
  nodeId: string
}

/** the fields of the engine's container list that the supervisor reads */
interface ContainerSummary { Id: string, State?: string, Labels?: Record<string, string> }

/** an answer larger than this is not the engine's (a list of a node's containers is a few KB) */
const MAX_BODY_BYTES = 16 * 1024 * 1024
/** an event line longer than this ends the stream (the watchdog opens a new one) */
const MAX_EVENT_LINE = 64 * 1024

export class SupervisorDocker implements SupervisedEngine {
  private readonly labels: string[]

  constructor (private readonly init: SupervisorDockerInit) {
    this.labels = [`${LABELS.mesh}=${init.meshId}`, `${LABELS.node}=${init.nodeId}`]
  }

  async list (options: { signal?: AbortSignal } = {}): Promise<SupervisedContainer[]> {
    const query = new URLSearchParams({ all: 'true', filters: JSON.stringify({ label: this.labels }) })
    const summaries = await this.json<ContainerSummary[]>('GET', `/containers/json?${query.toString()}`, [200], options.signal)
    const ours = (Array.isArray(summaries) ? summaries : []).filter(s => {
      const labels: Record<string, string> = s?.Labels ?? {}
      // the filter says so already; a container that is not ours is never touched, whatever the engine answers
      return labels[LABELS.mesh] === this.init.meshId && labels[LABELS.node] === this.init.nodeId && typeof s.Id === 'string'
    })
    return await Promise.all(ours.map(async (s): Promise<SupervisedContainer> => {
      const running = s.State === 'running' || s.State === 'paused' || s.State === 'restarting'
      const labels = s.Labels ?? {}
      const c: SupervisedContainer = { id: s.Id, service: labels[LABELS.service] ?? '', replica: Number(labels[LABELS.replica] ?? -1), running }
      if (running) {
        const info = await this.json<{ State?: { Pid?: number } } | undefined>('GET', `/containers/${encodeURIComponent(s.Id)}/json`, [200, 404], options.signal)
        const pid = info?.State?.Pid
        if (pid !== undefined && Number.isSafeInteger(pid) && pid > 0) c.pid = pid
      }
      return c
    }))
  }

  async stop (id: string, graceMs: number, options: { signal?: AbortSignal } = {}): Promise<void> {
    await this.json('POST', `/containers/${encodeURIComponent(id)}/stop?t=${Math.ceil(graceMs / 1000)}`, [204, 304, 404], options.signal)
  }

  async remove (id: string, options: { signal?: AbortSignal } = {}): Promise<void> {
    // 409: a removal is already under way
    await this.json('DELETE', `/containers/${encodeURIComponent(id)}?force=true&v=true`, [204, 404, 409], options.signal)
  }

  async * starts (options: { signal: AbortSignal }): AsyncIterable<string> {
    const filters = JSON.stringify({ type: ['container'], event: ['start'], label: this.labels })
    const res = await this.open('GET', `/events?filters=${encodeURIComponent(filters)}`, options.signal)
    if (res.statusCode !== 200) { res.resume(); throw new Error(`the engine answered ${res.statusCode} to an events request`) }
    const lines = new LineBuffer(MAX_EVENT_LINE)
    res.setEncoding('utf8')
    try {
      for await (const chunk of res) {
        for (const line of lines.push(chunk as string)) {
          const id = eventId(line)
          if (id !== undefined) yield id
        }
      }
    } finally {
      res.destroy()
    }
  }

  private async json<T = unknown> (method: string, path: string, ok: number[], signal?: AbortSignal): Promise<T> {
    const res = await this.open(method, path, signal)
    const chunks: Buffer[] = []
    let size = 0
    for await (const chunk of res) {
      size += (chunk as Buffer).length
      if (size > MAX_BODY_BYTES) { res.destroy(); throw new Error(`the engine's answer to ${method} ${path} exceeds ${MAX_BODY_BYTES} bytes`) }
      chunks.push(chunk as Buffer)
    }
    const text = Buffer.concat(chunks).toString('utf8')
    if (!ok.includes(res.statusCode ?? 0)) throw new Error(`the engine answered ${res.statusCode} to ${method} ${path}: ${text.slice(0, 200)}`)
    // the calls whose answer is read (list, inspect) answer JSON; the others answer nothing
    return (text === '' ? undefined : JSON.parse(text)) as T
  }

  private async open (method: string, path: string, signal?: AbortSignal): Promise<IncomingMessage> {
    return await new Promise((resolve, reject) => {
      const where = this.init.address.options
      const req = request({ ...('socketPath' in where ? { socketPath: where.socketPath } : { host: where.host, port: where.port }), method, path, signal }, resolve)
      req.on('error', reject)
      req.end()
    })
  }
}

function eventId (line: string): string | undefined {
  try {
    const event = JSON.parse(line)
    const id = event?.Actor?.ID ?? event?.id
    return typeof id === 'string' ? id : undefined
  } catch {
    return undefined
  }
}
