/**
 * The bond between a daemon and its supervisor: one connection on the unix
 * socket DATA/supervisor.sock, newline-delimited JSON both ways. The
 * connection itself is the signal: the kernel closes it the moment the
 * daemon's process ends, however it ends, and the supervisor reads EOF.
 *
 *   daemon → supervisor: attach (first, once), ping (every pingMs), stopping (a planned stop, just before it closes)
 *   supervisor → daemon: attached (with the stop rounds since the last daemon) or refused, pong (for each ping)
 */
import type { Socket } from 'node:net'
import type { SupervisorBudget } from '../core/supervision/budget.js'
import type { StopRound } from '../core/supervision/types.js'
import { LineBuffer } from './lines.js'

export const BOND_VERSION = 1
/** a line longer than this ends the bond: no message of ours comes near it */
export const MAX_BOND_LINE = 64 * 1024

export interface AttachMessage { type: 'attach', v: number, meshId: string, nodeId: string, engine: string, pid: number }
export interface AttachedMessage { type: 'attached', pid: number, budget: SupervisorBudget, rounds: StopRound[] }

export type BondMessage =
  | AttachMessage
  | { type: 'ping' }
  | { type: 'stopping' }
  | AttachedMessage
  /** `busy`: another daemon is attached; `version`: the supervisor speaks another version of the bond (replace it) */
  | { type: 'refused', error: string, code: 'busy' | 'version' | 'mismatch' }
  | { type: 'pong' }

const TYPES = new Set(['attach', 'ping', 'stopping', 'attached', 'refused', 'pong'])

/** one line → a message; throws on anything else */
export function parseBondLine (line: string): BondMessage {
  const message = JSON.parse(line)
  if (typeof message !== 'object' || message === null || !TYPES.has(message.type)) throw new Error(`not a bond message: ${line.slice(0, 80)}`)
  if (message.type === 'attach') {
    const { v, meshId, nodeId, engine, pid } = message
    // another version is refused by the server with a reason, not dropped here: the daemon then replaces the supervisor
    if (!Number.isSafeInteger(v) || typeof meshId !== 'string' || typeof nodeId !== 'string' || typeof engine !== 'string' || !Number.isSafeInteger(pid)) {
      throw new Error('an attach message needs v, meshId, nodeId, engine and pid')
    }
  }
  if (message.type === 'attached' && (!Number.isSafeInteger(message.pid) || !Array.isArray(message.rounds))) throw new Error('an attached message needs pid and rounds')
  if (message.type === 'refused' && (typeof message.error !== 'string' || !['busy', 'version', 'mismatch'].includes(message.code))) throw new Error('a refused message needs an error and a code')
  return message as BondMessage
}

export function sendBond (socket: Socket, message: BondMessage): void {
  if (!socket.destroyed && socket.writable) socket.write(JSON.stringify(message) + '\n')
}

/** calls `onMessage` for each message on the socket; a bad or oversized line destroys the socket */
export function readBond (socket: Socket, onMessage: (message: BondMessage) => void): void {
  const lines = new LineBuffer(MAX_BOND_LINE)
  socket.setEncoding('utf8')
  socket.on('data', (chunk: string) => {
    try {
      for (const line of lines.push(chunk)) onMessage(parseBondLine(line))
    } catch (err) {
      socket.destroy(err as Error)
    }
  })
}
