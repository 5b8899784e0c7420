/**
 * Parsers for Docker's streaming answers, as async generators that take
 * chunks as they come (split anywhere) and hold at most one line or frame:
 * JSON lines (events, pull progress) and multiplexed log frames.
 */
import { MAX_JSON_LINE_BYTES, MAX_LOG_FRAME_BYTES } from './constants.js'
import type { ContainerHealth, LogLine, RuntimeEvent } from './types.js'

type Chunks = AsyncIterable<Uint8Array | string>

/** newline-separated JSON values; blank, unparseable or oversized lines are skipped */
export async function * jsonLines (source: Chunks): AsyncGenerator<unknown> {
  let pending = ''
  for await (const chunk of source) {
    pending += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8')
    let newline: number
    while ((newline = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, newline).trim()
      pending = pending.slice(newline + 1)
      const value = parseJson(line)
      if (value !== undefined) yield value
    }
    if (pending.length > MAX_JSON_LINE_BYTES) pending = ''
  }
  const value = parseJson(pending.trim())
  if (value !== undefined) yield value
}

function parseJson (line: string): unknown {
  if (line === '') return undefined
  try { return JSON.parse(line) } catch { return undefined }
}

/**
 * Docker's log stream of a container without a TTY: frames of an 8-byte
 * header (stream 1 = stdout, 2 = stderr; 3 bytes zero; big-endian length)
 * and a payload of `<RFC 3339 time> <text>\n` (asked with timestamps)
 */
export async function * demuxLogs (source: Chunks): AsyncGenerator<LogLine> {
  let lastTime = 0
  for await (const frame of demuxFrames(source)) {
    for (const line of payloadLines(frame.text)) {
      const parsed = parseTimestamped(line, lastTime)
      lastTime = parsed.time
      yield { time: parsed.time, stream: frame.stream, text: parsed.text }
    }
  }
}

/** the frames of a multiplexed stream (logs, an exec's output), as text */
export async function * demuxFrames (source: Chunks): AsyncGenerator<{ stream: 'stdout' | 'stderr', text: string }> {
  let pending = Buffer.alloc(0)
  for await (const chunk of source) {
    pending = pending.length === 0 ? Buffer.from(chunk) : Buffer.concat([pending, Buffer.from(chunk)])
    while (pending.length >= 8) {
      const size = pending.readUInt32BE(4)
      if (size > MAX_LOG_FRAME_BYTES) throw new Error(`Docker sent a log frame of ${size} bytes; the log stream is corrupt`)
      if (pending.length < 8 + size) break
      yield { stream: pending[0] === 2 ? 'stderr' : 'stdout', text: pending.subarray(8, 8 + size).toString('utf8') }
      pending = pending.subarray(8 + size)
    }
  }
}

function payloadLines (payload: string): string[] {
  const lines = payload.split('\n')
  if (lines[lines.length - 1] === '') lines.pop()
  return lines
}

/** `2026-11-26T01:06:08.973138466Z text` → time in ms and text; a line without a time keeps the previous one */
export function parseTimestamped (line: string, fallback: number): { time: number, text: string } {
  const space = line.indexOf(' ')
  const stamp = space < 0 ? line : line.slice(0, space)
  const time = /^\d{4}-\d\d-\d\dT/.test(stamp) ? Date.parse(stamp) : NaN
  if (Number.isNaN(time)) return { time: fallback, text: line }
  return { time, text: space < 0 ? '' : line.slice(space + 1) }
}

interface DockerEventMessage {
  Type?: string
  Action?: string
  id?: string
  Actor?: { ID?: string, Attributes?: Record<string, string> }
}

/** a Docker container event as a RuntimeEvent; others (and garbage) give undefined */
export function toRuntimeEvent (value: unknown): RuntimeEvent | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  const message = value as DockerEventMessage
  const id = message.Actor?.ID ?? message.id
  const action = message.Action
  if (message.Type !== 'container' || typeof id !== 'string' || typeof action !== 'string') return undefined
  if (action === 'start') return { type: 'start', id }
  if (action === 'destroy') return { type: 'remove', id }
  if (action === 'die') {
    const exitCode = Number(message.Actor?.Attributes?.exitCode)
    return { type: 'die', id, exitCode: Number.isInteger(exitCode) ? exitCode : -1 }
  }
  if (action.startsWith('health_status')) {
    const status = action.slice(action.indexOf(':') + 1).trim()
    const health: ContainerHealth | undefined = status === 'healthy' || status === 'unhealthy' || status === 'starting' ? status : undefined
    return health === undefined ? undefined : { type: 'health', id, health }
  }
  return undefined
}

/** the labels a Docker event carries (Actor.Attributes holds them beside name and image) */
export function eventAttributes (value: unknown): Record<string, string> {
  return (value as DockerEventMessage | null)?.Actor?.Attributes ?? {}
}
