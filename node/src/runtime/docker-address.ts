/**
 * Where the Docker engine is: the caller's socket path, else DOCKER_HOST
 * (`unix://…` or `tcp://…`), else /var/run/docker.sock. Kept apart from
 * docker-util.ts so the supervisor (node/src/supervisor/) loads no more
 * than it needs.
 */
import { DEFAULT_DOCKER_SOCKET } from './constants.js'

export interface EngineAddress {
  options: { socketPath: string } | { host: string, port: number, protocol: 'http' }
  /** names the engine in messages */
  label: string
}

export function engineAddress (socketPath?: string, env: NodeJS.ProcessEnv = process.env): EngineAddress {
  const given = socketPath ?? env.DOCKER_HOST ?? DEFAULT_DOCKER_SOCKET
  if (given.startsWith('tcp://')) {
    const url = new URL(given.replace(/^tcp:/, 'http:'))
    return { options: { host: url.hostname, port: url.port === '' ? 2375 : Number(url.port), protocol: 'http' }, label: given }
  }
  const path = given.replace(/^unix:\/\//, '')
  return { options: { socketPath: path }, label: path }
}
