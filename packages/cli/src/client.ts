/**
 * The CLI's only way into a node: HTTP+JSON over the control socket in the
 * data dir. A node that is not running is a clear error with exit code 3.
 */
import { request } from 'node:http'
import type { ApiError, DeleteRoutes, GetRoutes, PostRoutes } from '@minga/node/api'
import { CliError, EXIT } from './errors.js'

/** the control API, typed by its contract (`@minga/node/api`): a path's answer is the type the daemon's route returns */
export interface ApiClient {
  get: <P extends keyof GetRoutes & string>(path: P) => Promise<GetRoutes[P]>
  /** `timeoutMs`: for a call that takes long (a snapshot of a large volume); default 30 s */
  post: <P extends keyof PostRoutes & string>(path: P, body: PostRoutes[P]['body'], options?: { timeoutMs?: number }) => Promise<PostRoutes[P]['response']>
  delete: <P extends keyof DeleteRoutes & string>(path: P) => Promise<DeleteRoutes[P]>
}

const TIMEOUT = 30_000

/** a client of the node whose control socket is `socketPath`; a node not running is CliError with EXIT.notRunning */
export function apiClient (socketPath: string): ApiClient {
  const call = async <T>(method: string, path: string, body?: unknown, timeout = TIMEOUT): Promise<T> => {
    const payload = body === undefined ? undefined : JSON.stringify(body)
    return await new Promise<T>((resolve, reject) => {
      const req = request({ socketPath, path, method, headers: payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }, timeout }, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => {
          let value: unknown
          try {
            value = JSON.parse(Buffer.concat(chunks).toString('utf8'))
          } catch {
            reject(new CliError(`The node answered ${res.statusCode} with something that is not JSON`, EXIT.failure))
            return
          }
          if ((res.statusCode ?? 500) >= 400) {
            const error = value as Partial<ApiError> | null
            reject(new CliError(error?.error ?? `The node answered ${res.statusCode}`, res.statusCode === 400 ? EXIT.usage : EXIT.failure, error?.code))
          } else {
            // the daemon's route answers what the contract says (api/contract.ts)
            resolve(value as T)
          }
        })
      })
      req.on('timeout', () => req.destroy(new Error(`no answer within ${timeout / 1000} s`)))
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') reject(new CliError(`No minga node is running on ${socketPath}; start it with "minga up" (same --data)`, EXIT.notRunning))
        else reject(new CliError(`Cannot talk to the node at ${socketPath}: ${err.message}`, EXIT.failure))
      })
      req.end(payload)
    })
  }
  return {
    get: async <P extends keyof GetRoutes & string>(path: P) => await call<GetRoutes[P]>('GET', path),
    post: async <P extends keyof PostRoutes & string>(path: P, body: PostRoutes[P]['body'], options: { timeoutMs?: number } = {}) => await call<PostRoutes[P]['response']>('POST', path, body, options.timeoutMs),
    delete: async <P extends keyof DeleteRoutes & string>(path: P) => await call<DeleteRoutes[P]>('DELETE', path)
  }
}
