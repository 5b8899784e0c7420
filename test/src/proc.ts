/**
 * What a node process costs, read from Linux: its resident memory from
 * /proc/PID/status, and the bytes its TCP sockets carried from the kernel's
 * tcp_info (`ss -tinp`). Used by the mesh benchmarks.
 */
import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { request } from 'node:http'
import { promisify } from 'node:util'

const run = promisify(execFile)

/** resident set size of a process, in MiB */
export async function rssMb (pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)
  if (match === null) throw new Error(`no VmRSS in /proc/${pid}/status`)
  return Number(match[1]) / 1024
}

/** CPU time (user + system) a process has used, in ms */
export async function cpuMs (pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
  // fields after the command name (which may hold spaces) start after the last ')'
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const ticks = Number(fields[11]) + Number(fields[12])
  return ticks * 10 // USER_HZ is 100 on Linux
}

export interface SocketBytes {
  /** payload bytes the process's TCP sockets sent (tcp_info bytes_sent, retransmits included) */
  sent: number
  /** payload bytes they received (tcp_info bytes_received) */
  received: number
  sockets: number
}

/**
 * Bytes carried by the open TCP sockets of each process, from `ss -tinp`.
 * A socket that closed is no longer listed, so measure the difference of
 * two readings over long-lived connections (a mesh's member connections).
 */
export async function tcpBytes (pids: number[]): Promise<Map<number, SocketBytes>> {
  const { stdout } = await run('ss', ['-tinpH', 'state', 'established'], { maxBuffer: 64 * 1024 * 1024 })
  const out = new Map<number, SocketBytes>(pids.map(p => [p, { sent: 0, received: 0, sockets: 0 }]))
  // each socket is a line with users:(("node",pid=N,fd=M)) followed by an indented line of tcp_info fields
  let owner: number | undefined
  for (const line of stdout.split('\n')) {
    const pid = /pid=(\d+)/.exec(line)
    if (pid !== null) {
      owner = Number(pid[1])
      continue
    }
    if (owner === undefined || !out.has(owner)) continue
    const sent = /\bbytes_sent:(\d+)/.exec(line)
    const received = /\bbytes_received:(\d+)/.exec(line)
    if (sent === null && received === null) continue
    const counts = out.get(owner)!
    counts.sent += Number(sent?.[1] ?? 0)
    counts.received += Number(received?.[1] ?? 0)
    counts.sockets++
    owner = undefined
  }
  return out
}

/** a node's Prometheus text, from GET /v1/metrics on its control socket at `socketPath` */
async function metricsText (socketPath: string): Promise<string> {
  return await new Promise<string>((resolve, reject) => {
    const req = request({ socketPath, path: '/v1/metrics', timeout: 30_000 }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    })
    req.on('timeout', () => req.destroy(new Error('no metrics within 30 s')))
    req.on('error', reject)
    req.end()
  })
}

/**
 * Bytes each libp2p protocol's streams carried since the node started, from its
 * `libp2p_data_transfer_bytes_total` counters (GET /v1/metrics on the control socket at `socketPath`):
 * protocol id → { sent, received }, stream payload before Yamux, Noise and TCP framing
 */
export async function protocolBytes (socketPath: string): Promise<Map<string, { sent: number, received: number }>> {
  const text = await metricsText(socketPath)
  const out = new Map<string, { sent: number, received: number }>()
  for (const match of text.matchAll(/^libp2p_data_transfer_bytes_total\{protocol="([^"]+) (sent|received)"\} (\S+)$/gm)) {
    const counts = out.get(match[1]) ?? { sent: 0, received: 0 }
    counts[match[2] as 'sent' | 'received'] = Number(match[3])
    out.set(match[1], counts)
  }
  return out
}

/** the node's probes since it started, by outcome (`minga_membership_probes_total`: sent, failed, refused, held back…) */
export async function probeOutcomes (socketPath: string): Promise<Map<string, number>> {
  const text = await metricsText(socketPath)
  return new Map([...text.matchAll(/^minga_membership_probes_total\{result="([^"]+)"\} (\S+)$/gm)].map(m => [m[1], Number(m[2])]))
}

/** bytes of membership messages the node sent since it started, by message type (`minga_membership_sent_bytes_total`) */
export async function membershipBytes (socketPath: string): Promise<Map<string, number>> {
  const text = await metricsText(socketPath)
  return new Map([...text.matchAll(/^minga_membership_sent_bytes_total\{type="([^"]+)"\} (\S+)$/gm)].map(m => [m[1], Number(m[2])]))
}
