/**
 * Talking to a Docker engine: where it is, deadlines on every call, errors
 * turned into the runtime's own, and inspect answers turned into
 * RuntimeContainers.
 */
import { probeOutput } from '@minga/protocol'
import { CALL_TIMEOUT_MS } from './constants.js'
export { engineAddress, type EngineAddress } from './docker-address.js'
import { RuntimeUnavailableError } from './errors.js'
import { linkSignals, rejectOnAbort } from './signals.js'
import { LABELS } from './types.js'
import type { ContainerHealth, ContainerState, RuntimeContainer } from './types.js'
import type Docker from 'dockerode'
import type { ContainerInspectInfo } from 'dockerode'
import type { Owner } from './docker-spec.js'

export interface CallContext {
  /** names the engine in messages */
  readonly address: string
  /** aborts every call when the runtime closes */
  readonly closing: AbortSignal
}

/**
 * Run one engine call under the caller's signal, the runtime's closing
 * signal and a deadline; a dead or silent engine becomes RuntimeUnavailableError
 */
export async function engineCall<T> (ctx: CallContext, call: (signal: AbortSignal) => Promise<T>, options: { signal?: AbortSignal, timeoutMs?: number } = {}): Promise<T> {
  const ms = options.timeoutMs ?? CALL_TIMEOUT_MS
  const linked = linkSignals([options.signal, ctx.closing], ms)
  try {
    // race the signal too: a few dockerode calls do not pass it to the request
    return await Promise.race([call(linked.signal), rejectOnAbort(linked.signal)])
  } catch (err) {
    throw engineError(err, ctx, options.signal, linked.timedOut ? ms : undefined)
  } finally {
    linked.dispose()
  }
}

/** a plain request through dockerode's modem, for endpoints whose dockerode method ignores the signal */
export async function dial<T> (docker: Docker, request: { path: string, method?: string, options?: Record<string, unknown>, statusCodes: Record<number, true | string>, isStream?: boolean, file?: NodeJS.ReadableStream }, signal: AbortSignal): Promise<T> {
  return await new Promise<T>((resolve, reject) => {
    docker.modem.dial({ method: 'GET', ...request, abortSignal: signal }, (err: unknown, data: unknown) => {
      if (err != null) reject(err); else resolve(data as T)
    })
  })
}

/** what to throw for an error of an engine call */
export function engineError (err: unknown, ctx: CallContext, callerSignal?: AbortSignal, timedOutAfterMs?: number): unknown {
  if (callerSignal?.aborted === true) return callerSignal.reason
  if (ctx.closing.aborted) return new RuntimeUnavailableError('The Docker runtime was closed')
  if (timedOutAfterMs !== undefined) return unavailable(ctx.address, `no answer within ${timedOutAfterMs} ms`)
  if (isConnectionError(err)) return unavailable(ctx.address, (err as Error).message)
  return err
}

/** RuntimeUnavailableError for an engine that does not answer, saying how to start one */
export function unavailable (address: string, reason: string): RuntimeUnavailableError {
  return new RuntimeUnavailableError(`Docker engine at ${address} does not answer (${reason}); start it, or start an isolated one with "bash scripts/docker-engine.sh start main" (in the minga checkout) and give its socket: minga up --docker-host /tmp/minga-docker/main/docker.sock`)
}

const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ENOENT', 'ECONNRESET', 'EPIPE', 'EACCES', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'ECONNABORTED'])

/** true for an error of the connection to the engine (refused, reset, missing socket…), not of the request */
export function isConnectionError (err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' && CONNECTION_CODES.has(code)
}

/** the HTTP status of a dockerode error, if it has one */
export function statusCode (err: unknown): number | undefined {
  const code = (err as { statusCode?: unknown } | null)?.statusCode
  return typeof code === 'number' ? code : undefined
}

/** the engine's own words for an error, without dockerode's `(HTTP code 500) server error -` prefix */
export function dockerMessage (err: unknown): string {
  const json = (err as { json?: { message?: unknown } } | null)?.json
  if (typeof json?.message === 'string') return json.message.trim()
  const message = err instanceof Error ? err.message : String(err)
  return message.replace(/^\(HTTP code \d+\) [^-]*- /, '').trim()
}

/** true when a container's labels name this mesh and node */
export function ownedBy (labels: Record<string, string> | null | undefined, owner: Owner): boolean {
  return labels?.[LABELS.mesh] === owner.meshId && labels?.[LABELS.node] === owner.nodeId
}

const STATES: Record<string, ContainerState> = {
  created: 'created',
  running: 'running',
  paused: 'running',
  restarting: 'starting',
  removing: 'exited',
  exited: 'exited',
  dead: 'exited'
}

/** a warm standby: created by `prepare`, never started */
export function isStandby (info: ContainerInspectInfo): boolean {
  return info.Config.Labels?.[LABELS.standby] === '1' && info.State.Status === 'created'
}

/** the container as the runtime reports it; `network`: the service network whose address it reports */
export function toRuntimeContainer (info: ContainerInspectInfo, network?: string): RuntimeContainer {
  const labels = info.Config.Labels ?? {}
  const state = STATES[info.State.Status] ?? 'exited'
  const status = info.State.Health?.Status
  let health: ContainerHealth = 'none'
  if (status !== undefined && status !== '') {
    health = state === 'exited' ? 'unhealthy' : (status === 'healthy' || status === 'unhealthy' ? status : 'starting')
  }
  const startedAt = Date.parse(info.State.StartedAt)
  const last = (info.State.Health as { Log?: Array<{ ExitCode?: number, Output?: string }> } | undefined)?.Log?.at(-1)
  const address = network === undefined || state !== 'running' ? undefined : info.NetworkSettings?.Networks?.[network]?.IPAddress
  const probe = last === undefined ? undefined : { exitCode: Number.isSafeInteger(last.ExitCode) ? Math.max(-1, Math.min(255, last.ExitCode!)) : -1, output: probeOutput(last.Output ?? '') }
  return {
    id: info.Id,
    service: labels[LABELS.service] ?? '',
    replica: Number(labels[LABELS.replica] ?? -1),
    hash: labels[LABELS.hash] ?? '',
    image: info.Config.Image,
    state,
    health,
    ...(state === 'exited' ? { exitCode: info.State.ExitCode } : {}),
    ...(startedAt > 0 ? { startedAt } : {}),
    ...(info.State.Error === '' || info.State.Error === undefined ? {} : { error: info.State.Error }),
    ...(probe === undefined ? {} : { probe }),
    ...(address === undefined || address === '' ? {} : { address }),
    ...(isStandby(info) ? { standby: true as const } : {})
  }
}
