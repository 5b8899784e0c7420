/**
 * The supervisor's end of the bond: it listens on DATA/supervisor.sock,
 * accepts one attached daemon at a time (of its own mesh, node and
 * engine), answers its pings, and tells the watchdog when the daemon goes
 * (EOF) or falls silent. The socket is 0600, in the data dir: only the
 * node's own user reaches it.
 */
import { chmod, unlink } from 'node:fs/promises'
import { createConnection, createServer, type Server, type Socket } from 'node:net'
import type { SupervisorBudget } from '../core/supervision/budget.js'
import type { Watchdog } from '../core/supervision/watchdog.js'
import { BOND_VERSION, readBond, sendBond, type AttachMessage } from './bond.js'

export interface BondServerInit {
  socketPath: string
  meshId: string
  nodeId: string
  /** the engine's label (engineAddress): a daemon on another engine has other containers */
  engine: string
  watchdog: Watchdog
  budget: SupervisorBudget
  log: (line: string) => void
}

/** a connection that has not said `attach` by then is dropped */
const ATTACH_WITHIN_MS = 10_000

export class BondServer {
  private server?: Server
  private attached?: Socket
  private planned = false
  private tick?: NodeJS.Timeout

  constructor (private readonly init: BondServerInit) {}

  /** listen; false when another supervisor already answers on the socket */
  async listen (): Promise<boolean> {
    const { socketPath } = this.init
    if (await answers(socketPath)) return false
    await unlink(socketPath).catch(() => {})
    this.server = createServer(socket => this.onConnection(socket))
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject)
      this.server!.listen(socketPath, () => { this.server!.off('error', reject); resolve() })
    })
    await chmod(socketPath, 0o600)
    // the silence check runs after the poll phase (setImmediate): pings that arrived while this process was starved are read first
    const every = Math.max(100, Math.min(500, this.init.budget.pingMs / 2))
    let lastTick = Date.now()
    this.tick = setInterval(() => {
      const now = Date.now()
      const stalled = now - lastTick > 2 * every
      lastTick = now
      // this process was stalled itself: the daemon's pings may still be on their way; judge at the next tick
      if (stalled) return
      setImmediate(() => { if (this.init.watchdog.check()) this.attached?.destroy() })
    }, every)
    return true
  }

  async close (): Promise<void> {
    clearInterval(this.tick)
    this.attached?.destroy()
    await new Promise<void>(resolve => this.server === undefined ? resolve() : this.server.close(() => resolve()))
    await unlink(this.init.socketPath).catch(() => {})
  }

  private onConnection (socket: Socket): void {
    const { watchdog, log } = this.init
    let attach: AttachMessage | undefined
    const late = setTimeout(() => { if (attach === undefined) socket.destroy() }, ATTACH_WITHIN_MS)
    socket.on('error', () => {})
    readBond(socket, (message) => {
      if (attach === undefined) {
        if (message.type !== 'attach') { socket.destroy(); return }
        clearTimeout(late)
        attach = message
        const refusal = this.refusal(message)
        const result = refusal === undefined ? watchdog.attach() : { ok: false as const, ...refusal }
        if (!result.ok) {
          log(`refused a daemon (pid ${message.pid}): ${result.error}`)
          sendBond(socket, { type: 'refused', error: result.error, code: refusal?.code ?? 'busy' })
          socket.end()
          return
        }
        this.attached = socket
        this.planned = false
        log(`minga daemon pid ${message.pid} attached`)
        sendBond(socket, { type: 'attached', pid: process.pid, budget: { ...this.init.budget }, rounds: result.rounds })
        return
      }
      if (socket !== this.attached) return
      if (message.type === 'ping') { watchdog.heard(); sendBond(socket, { type: 'pong' }) } else if (message.type === 'stopping') this.planned = true
    })
    socket.on('close', () => {
      clearTimeout(late)
      if (socket !== this.attached) return
      this.attached = undefined
      watchdog.detached(this.planned)
    })
  }

  private refusal (message: AttachMessage): { error: string, code: 'version' | 'mismatch' } | undefined {
    const { meshId, nodeId, engine } = this.init
    if (message.v !== BOND_VERSION) return { code: 'version', error: `This supervisor speaks version ${BOND_VERSION} of the bond, the daemon ${message.v}` }
    if (message.meshId !== meshId || message.nodeId !== nodeId || message.engine !== engine) {
      return { code: 'mismatch', error: `This supervisor guards node ${nodeId} of mesh ${meshId} on the engine at ${engine}, not node ${message.nodeId} of mesh ${message.meshId} on ${message.engine}` }
    }
    return undefined
  }
}

/** true when something accepts connections on the socket */
export async function answers (socketPath: string): Promise<boolean> {
  return await new Promise(resolve => {
    const probe = createConnection(socketPath)
    probe.once('connect', () => { probe.destroy(); resolve(true) })
    probe.once('error', () => resolve(false))
  })
}
