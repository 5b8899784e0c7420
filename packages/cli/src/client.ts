/**
 * The CLI's only way into a node: HTTP+JSON over the control socket in the
 * data dir. A node that is not running is a clear error with exit code 3.
 */
import { request } from 'node:http'
import { CliError, EXIT } from './errors.js'

export interface ApiClient {
  get: <T = any>(path: string) => Promise<T>
  post: <T = any>(path: string, body: unknown) => Promise<T>
  delete: <T = any>(path: string) => Promise<T>
}

const TIMEOUT = 30_000

export function apiClient (socketPath: string): ApiClient {
  const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const payload = body === undefined ? undefined : JSON.stringify(body)
    return await new Promise<T>((resolve, reject) => {
      const req = request({ socketPath, path, method, headers: payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }, timeout: TIMEOUT }, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => {
          let value: any
          try {
            value = JSON.parse(Buffer.concat(chunks).toString('utf8'))
          } catch {
            reject(new CliError(`The node answered ${res.statusCode} with something that is not JSON`, EXIT.failure))
            return
          }
          if ((res.statusCode ?? 500) >= 400) reject(new CliError(value.error ?? `The node answered ${res.statusCode}`, res.statusCode === 400 ? EXIT.usage : EXIT.failure, value.code))
          else resolve(value as T)
        })
      })
      req.on('timeout', () => req.destroy(new Error(`no answer within ${TIMEOUT / 1000} s`)))
      req.on('error', (err: any) => {
        if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') reject(new CliError(`No minga node is running on ${socketPath}; start it with "minga up" (same --data)`, EXIT.notRunning))
        else reject(new CliError(`Cannot talk to the node at ${socketPath}: ${err.message}`, EXIT.failure))
      })
      req.end(payload)
    })
  }
  return {
    get: async (path) => await call('GET', path),
    post: async (path, body) => await call('POST', path, body),
    delete: async (path) => await call('DELETE', path)
  }
}
