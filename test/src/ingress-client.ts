/**
 * A client of the routing mesh for the end-to-end tests and benchmarks:
 * plain HTTP requests on a new connection each (as a browser's first visit,
 * or a health checker, does), a TLS handshake that reports the certificate
 * the server presented, and a loop of requests against one node that counts
 * what failed and the longest time without an answer.
 */
import http from 'node:http'
import tls from 'node:tls'

export interface Answer { status: number, body: string }

/** GET `path` on a new connection to `address:port` (optionally from `localAddress`, with a Host header); rejects on any failure */
export async function get (address: string, port: number, path: string, options: { host?: string, localAddress?: string, timeoutMs?: number } = {}): Promise<Answer> {
  return await new Promise<Answer>((resolve, reject) => {
    const request = http.get({
      host: address,
      port,
      path,
      agent: false,
      headers: { connection: 'close', ...(options.host === undefined ? {} : { host: options.host }) },
      ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }),
      timeout: options.timeoutMs ?? 30_000
    }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => { body += d })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
      res.on('error', reject)
    })
    request.on('timeout', () => request.destroy(new Error(`no answer from ${address}:${port} within ${options.timeoutMs ?? 30_000} ms`)))
    request.on('error', reject)
  })
}

/** a TLS connection with `servername` as SNI: the certificate's subject CN, and the first line the server answers to `GET /` */
export async function tlsGet (address: string, port: number, servername: string, timeoutMs = 30_000): Promise<{ cn: string, firstLine: string }> {
  return await new Promise((resolve, reject) => {
    const socket = tls.connect({ host: address, port, servername, rejectUnauthorized: false, timeout: timeoutMs }, () => {
      const cn = String(socket.getPeerCertificate().subject?.CN)
      socket.write('GET / HTTP/1.0\r\n\r\n')
      let text = ''
      socket.setEncoding('utf8')
      socket.on('data', (d: string) => { text += d })
      socket.on('end', () => resolve({ cn, firstLine: text.split('\r\n')[0] ?? '' }))
    })
    socket.on('timeout', () => socket.destroy(new Error(`no TLS answer from ${address}:${port} within ${timeoutMs} ms`)))
    socket.on('error', reject)
  })
}

export interface LoopResult {
  requests: number
  failed: number
  /** the failures' messages, at most 20 */
  errors: string[]
  /** the longest time between two answers, ms */
  gapMs: number
  /** answers by body */
  bodies: Map<string, number>
}

/**
 * GETs `path` on `address:port` one after the other, each on a new
 * connection, until `stop` resolves; each request may take `timeoutMs`
 * (the routing mesh holds a connection while no replica takes it)
 */
export async function requestLoop (address: string, port: number, path: string, stop: Promise<unknown>, options: { pauseMs?: number, timeoutMs?: number, onAnswer?: (body: string) => void } = {}): Promise<LoopResult> {
  let stopped = false
  void stop.then(() => { stopped = true })
  const result: LoopResult = { requests: 0, failed: 0, errors: [], gapMs: 0, bodies: new Map() }
  let last = Date.now()
  while (!stopped) {
    result.requests++
    try {
      const answer = await get(address, port, path, { timeoutMs: options.timeoutMs ?? 30_000 })
      if (answer.status !== 200) throw new Error(`status ${answer.status}`)
      const body = answer.body.trim()
      result.bodies.set(body, (result.bodies.get(body) ?? 0) + 1)
      const now = Date.now()
      result.gapMs = Math.max(result.gapMs, now - last)
      last = now
      options.onAnswer?.(body)
    } catch (err) {
      result.failed++
      if (result.errors.length < 20) result.errors.push((err as Error).message)
    }
    await new Promise(resolve => setTimeout(resolve, options.pauseMs ?? 50))
  }
  return result
}
