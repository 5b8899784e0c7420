/**
 * Helpers for the runtime tests: replica specs and waiting with deadlines
 * (timers that keep the process alive, so a test never ends by accident).
 */
import { defaultSpec, type ServiceSpec } from '@minga/protocol'
import type { ReplicaSpec } from '../src/runtime/index.js'

/** the local test image built by scripts/test-image.sh (busybox) */
export const TEST_IMAGE = 'minga/busybox:1'
export const MISSING_IMAGE = 'minga/nope:1'

export function replicaOf (name: string, spec: Partial<ServiceSpec> = {}, options: { replica?: number, hash?: string, org?: string } = {}): ReplicaSpec {
  const org = options.org ?? 'acme'
  return {
    service: `${org}/${name}`,
    replica: options.replica ?? 0,
    hash: options.hash ?? 'a1b2c3d4e5f6',
    spec: defaultSpec(org, name, TEST_IMAGE, { command: ['sleep', '600'], ...spec })
  }
}

export async function sleep (ms: number): Promise<void> {
  await new Promise(resolve => setTimeout(resolve, ms))
}

/** poll until `check` returns a value other than undefined */
export async function waitFor<T> (what: string, check: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  while (Date.now() < deadline) {
    try {
      const value = await check()
      if (value !== undefined) return value
    } catch (err) { last = err }
    await sleep(50)
  }
  throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}${last === undefined ? '' : `: ${String(last)}`}`)
}

/** iterate until `done` says so, then stop; fails after the timeout */
export async function collectUntil<T> (what: string, source: AsyncIterable<T>, done: (seen: T[]) => boolean, timeoutMs = 30_000): Promise<T[]> {
  const seen: T[] = []
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => { reject(new Error(`Timed out after ${timeoutMs} ms waiting for ${what}; saw ${JSON.stringify(seen)}`)) }, timeoutMs)
  })
  const iterator = source[Symbol.asyncIterator]()
  try {
    while (!done(seen)) {
      const next = await Promise.race([iterator.next(), timeout])
      if (next.done === true) throw new Error(`The stream ended while waiting for ${what}; saw ${JSON.stringify(seen)}`)
      seen.push(next.value)
    }
    return seen
  } finally {
    clearTimeout(timer)
    void iterator.return?.()
  }
}

export async function rejection (promise: Promise<unknown>): Promise<Error> {
  try {
    await promise
  } catch (err) {
    return err as Error
  }
  throw new Error('Expected a rejection')
}
