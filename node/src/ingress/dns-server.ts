/**
 * The node's DNS server for its containers, on UDP and TCP port 53 of its
 * bridge network's gateway (dns2's servers and packet codec). Containers
 * ask Docker's embedded resolver (127.0.0.11), which answers container
 * names itself and forwards the rest here; queries arrive from the
 * container's own address, so each answer is for that caller: a service
 * name resolves only to a service the caller may reach (names.ts), to the
 * address the node's forwarder listens on for it.
 *
 * Names that are not the mesh's go to the upstream resolvers (the host's,
 * by default) as they are, and their answers come back as they are; with
 * no upstream, they are NXDOMAIN. A caller that is none of this node's
 * containers is REFUSED.
 */
import { createSocket, type RemoteInfo } from 'node:dgram'
import type { Socket as NetSocket } from 'node:net'
import dns2 from 'dns2'

const { Packet } = dns2

export type DnsAnswer =
  /** the name is the mesh's: this A record (any other type: no data) */
  | { kind: 'address', address: string }
  /** the name is the mesh's and does not exist for this caller */
  | { kind: 'nxdomain' }
  /** not the mesh's: ask upstream */
  | { kind: 'upstream' }
  /** the caller may not ask */
  | { kind: 'refused' }

export interface NameServerInit {
  /** where to listen (UDP and TCP); port default 53 */
  address: string
  port?: number
  /** the answer for `name` (lower case, no final dot) asked by `from` (the caller's IP) */
  answer: (name: string, from: string) => DnsAnswer | Promise<DnsAnswer>
  /** upstream resolvers, `IP` or `IP:port`; empty: names outside the mesh are NXDOMAIN */
  upstream?: string[]
  /** TTL of the mesh's answers, seconds (default 5: a service's address never changes, but a name may appear) */
  ttl?: number
  /** how long an upstream resolver may take (default 2 s) */
  upstreamTimeoutMs?: number
  /** queries relayed upstream at once, at most (default 256); more are SERVFAIL */
  maxUpstream?: number
}

type Send = (response: InstanceType<typeof Packet> | Buffer) => Promise<Buffer>

export class NameServer {
  readonly init: NameServerInit
  private readonly udp = new dns2.UDPServer()
  private readonly tcp = new dns2.TCPServer()
  private inFlight = 0
  /** queries answered, by outcome */
  readonly counts = { address: 0, nxdomain: 0, upstream: 0, refused: 0, failed: 0 }

  constructor (init: NameServerInit) {
    this.init = init
    for (const server of [this.udp, this.tcp]) {
      server.on('request', (request: InstanceType<typeof Packet>, send: Send, client: RemoteInfo | NetSocket) => {
        const from = 'remoteAddress' in client ? client.remoteAddress ?? '' : client.address
        this.handle(request, send, from, server === this.tcp).catch(() => { this.counts.failed++ })
      })
      server.on('requestError', () => { this.counts.failed++ })
    }
  }

  async start (): Promise<void> {
    const port = this.init.port ?? 53
    await this.udp.listen(port, this.init.address)
    await new Promise<void>((resolve, reject) => {
      this.tcp.once('error', reject)
      this.tcp.listen(port, this.init.address, () => { this.tcp.off('error', reject); resolve() })
    })
  }

  /** the UDP port it listens on (for tests with port 0) */
  get port (): number {
    return this.udp.address().port
  }

  async stop (): Promise<void> {
    await Promise.all([
      new Promise<void>(resolve => { try { this.udp.close(() => resolve()) } catch { resolve() } }),
      new Promise<void>(resolve => this.tcp.close(() => resolve()))
    ])
  }

  private async handle (request: InstanceType<typeof Packet>, send: Send, from: string, overTcp: boolean): Promise<void> {
    const question = request.questions[0]
    const response = Packet.createResponseFromRequest(request)
    if (question === undefined || request.questions.length !== 1) {
      response.header.rcode = Packet.RCODE.FORMERR
      await send(response)
      return
    }
    const name = String(question.name).toLowerCase().replace(/\.$/, '')
    const answer = await this.init.answer(name, from.replace(/^::ffff:/, ''))
    this.counts[answer.kind]++
    switch (answer.kind) {
      case 'address':
        response.header.aa = 1
        // a plain record object, as dns2's own examples write (its typings ask for a Resource instance)
        if (question.type === Packet.TYPE.A) response.answers.push({ name: question.name, type: Packet.TYPE.A, class: Packet.CLASS.IN, ttl: this.init.ttl ?? 5, address: answer.address } as unknown as (typeof response.answers)[number])
        break
      case 'nxdomain':
        response.header.aa = 1
        response.header.rcode = Packet.RCODE.NXDOMAIN
        break
      case 'refused':
        response.header.rcode = Packet.RCODE.REFUSED
        break
      case 'upstream': {
        const relayed = overTcp ? undefined : await this.relay(request.toBuffer())
        if (relayed !== undefined) { await send(relayed); return }
        response.header.rcode = (this.init.upstream ?? []).length === 0 ? Packet.RCODE.NXDOMAIN : Packet.RCODE.SERVFAIL
        break
      }
    }
    await send(response)
  }

  /** the first upstream answer to `query`, as it came (same id); undefined when none answered in time */
  private async relay (query: Buffer): Promise<Buffer | undefined> {
    const upstream = this.init.upstream ?? []
    if (upstream.length === 0 || this.inFlight >= (this.init.maxUpstream ?? 256)) return undefined
    this.inFlight++
    const socket = createSocket(upstream.some(u => u.includes('::') || u.startsWith('[')) ? 'udp6' : 'udp4')
    try {
      return await new Promise<Buffer | undefined>((resolve) => {
        const timer = setTimeout(() => resolve(undefined), this.init.upstreamTimeoutMs ?? 2000)
        socket.on('message', (message) => {
          // an answer to this query only: same id
          if (message.length >= 2 && message.readUInt16BE(0) === query.readUInt16BE(0)) { clearTimeout(timer); resolve(message) }
        })
        socket.on('error', () => { clearTimeout(timer); resolve(undefined) })
        for (const server of upstream) {
          const { host, port } = hostPort(server)
          socket.send(query, port, host)
        }
      })
    } finally {
      this.inFlight--
      socket.close()
    }
  }
}

function hostPort (server: string): { host: string, port: number } {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(server)
  if (bracketed !== null) return { host: bracketed[1], port: Number(bracketed[2] ?? 53) }
  const v4 = /^([\d.]+)(?::(\d+))?$/.exec(server)
  if (v4 !== null) return { host: v4[1], port: Number(v4[2] ?? 53) }
  return { host: server, port: 53 }
}
