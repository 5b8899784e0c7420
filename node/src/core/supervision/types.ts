/**
 * What the supervisor's watchdog (watchdog.ts) works with: the engine as it
 * sees it, the fallback that signals processes directly, and the record of
 * a round of stops that the next daemon hears of.
 */

export interface SupervisedContainer {
  id: string
  service: string
  replica: number
  running: boolean
  /** its main process on this host, when the engine says */
  pid?: number
}

/** the engine as the supervisor sees it: only this node's containers in this mesh */
export interface SupervisedEngine {
  /** this node's containers in this mesh, any state; rejects when the engine does not answer */
  list: (options?: { signal?: AbortSignal }) => Promise<SupervisedContainer[]>
  /** the container's stop signal, `graceMs`, then SIGKILL; resolves once it no longer runs (also when it is gone) */
  stop: (id: string, graceMs: number, options?: { signal?: AbortSignal }) => Promise<void>
  /** remove it (and its anonymous volumes); a container already gone is not an error */
  remove: (id: string, options?: { signal?: AbortSignal }) => Promise<void>
  /** ids of this node's containers as they start, until the signal aborts; ends or throws when the engine goes away */
  starts: (options: { signal: AbortSignal }) => AsyncIterable<string>
}

/** the fallback when the engine does not answer: a container's main process, signalled directly */
export interface ProcessReaper {
  /** remember a container's main process; false when this host cannot see it (another PID namespace, a remote engine) */
  track: (id: string, pid: number) => boolean
  /** true while the tracked process still runs; undefined when it is not tracked */
  alive: (id: string) => boolean | undefined
  /** signal the tracked process, if it is still the process tracked */
  signal: (id: string, signal: 'SIGTERM' | 'SIGKILL') => void
  forget: (id: string) => void
}

export type WatchdogState = 'waiting' | 'attached' | 'grace' | 'stopping' | 'fenced' | 'done'

/** how a container was seen to stop: by the engine, by its process's end, or not seen (engine silent, process not visible) */
export type StoppedHow = 'engine' | 'process' | 'unconfirmed'

/** one round of stops, as the next daemon hears of it */
export interface StopRound {
  reason: string
  /** ms since epoch: when the daemon was last known alive */
  lastSeen: number
  began: number
  /** when every container of the round was seen stopped (or given up on as unconfirmed) */
  ended?: number
  containers: Array<{ id: string, service: string, replica: number, how?: StoppedHow }>
}

export type AttachResult = { ok: true, rounds: StopRound[] } | { ok: false, error: string }
