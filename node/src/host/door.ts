/**
 * The door: a second, minimal libp2p host beside the main one, with its own
 * key and port, behind the same private-network key. It speaks only the
 * join protocol, to anyone who holds the mesh key, and closes a connection
 * that has not sent its request within a few seconds (one whose request
 * arrived waits for the door's answer, however busy the door is). The main host admits members only, so a
 * stranger with the mesh key can open nothing but the join protocol.
 */
import { noise } from '@chainsafe/libp2p-noise'
import { tcp } from '@libp2p/tcp'
import { lpStream } from '@libp2p/utils'
import { createLibp2p, type Libp2p } from 'libp2p'
import type { Connection } from '@libp2p/interface'
import { toError, messageOf, decodeMessage, encodeMessage, protocols, type Identity, type JoinRequestMessage, type JoinResponseMessage } from '@minga/protocol'
import { MAX_FRAME_BYTES } from './libp2p-mesh.js'
import { streamMuxer } from './libp2p-config.js'
import { preSharedKey } from './pnet.js'

export interface DoorInit {
  identity: Identity
  meshId: string
  psk: Uint8Array
  listen: string[]
  /** addresses joiners dial besides the listen addresses (`minga up --announce-door`, announce.ts) */
  announce?: string[]
  admit: (request: JoinRequestMessage, from: string) => Promise<JoinResponseMessage>
  /** a connection to the door that has not sent its join request lives at most this long (default 10 s) */
  connectionTtl?: number
}

/** how long a joiner has to send its request, and to read the answer once it is ready */
const REQUEST_TIMEOUT = 10_000
/** how long a joiner waits for one door by default: the door's own work (a signed, fsync'd admission) counts, and a busy door is slow */
export const JOIN_TIMEOUT = 30_000

/**
 * The door: a second tiny libp2p host that speaks only the join protocol, for joiners who are not members yet;
 * each connection lives at most `connectionTtl` ms
 */
export async function startDoor (init: DoorInit): Promise<Libp2p> {
  const ttl = init.connectionTtl ?? 10_000
  const door = await createLibp2p({
    privateKey: init.identity.privateKey,
    addresses: { listen: init.listen, appendAnnounce: init.announce ?? [] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [streamMuxer()],
    connectionProtector: preSharedKey({ psk: init.psk }),
    connectionManager: { maxConnections: 32, inboundConnectionThreshold: 10 }
  })
  // a connection that sends no request in time is closed; one whose request arrived waits for the door's own answer
  const deadlines = new Map<string, ReturnType<typeof setTimeout>>()
  const closeLater = (connection: Connection): void => {
    clearTimeout(deadlines.get(connection.id))
    const timer = setTimeout(() => { deadlines.delete(connection.id); void connection.close().catch(() => connection.abort(new Error('door timeout'))) }, ttl)
    timer.unref()
    deadlines.set(connection.id, timer)
  }
  door.addEventListener('connection:open', (event) => closeLater(event.detail))
  door.addEventListener('connection:close', (event) => { clearTimeout(deadlines.get(event.detail.id)); deadlines.delete(event.detail.id) })
  await door.handle(protocols.join(init.meshId), async (stream, connection) => {
    const lp = lpStream(stream, { maxDataLength: 64 * 1024 })
    try {
      const request = decodeMessage((await lp.read({ signal: AbortSignal.timeout(REQUEST_TIMEOUT) })).subarray(), { types: ['join-request'] }) as JoinRequestMessage
      clearTimeout(deadlines.get(connection.id))
      const response = await init.admit(request, connection.remotePeer.toString())
      closeLater(connection)
      await lp.write(encodeMessage(response), { signal: AbortSignal.timeout(REQUEST_TIMEOUT) })
      await stream.close()
    } catch (err) {
      closeLater(connection)
      try {
        await lp.write(encodeMessage({ type: 'join-response', ok: false, code: 'bad-request', error: `The join request was refused: ${messageOf(err)}` }), { signal: AbortSignal.timeout(REQUEST_TIMEOUT) })
        await stream.close()
      } catch {
        stream.abort(toError(err))
      }
    }
  }, { maxInboundStreams: 4 })
  return door
}

/**
 * The joiner's side: dial a door, send the request, read the answer; each
 * door gets `timeoutMs` (default JOIN_TIMEOUT) a try. When no door answered
 * and one at least did not answer in time (a busy or starved member),
 * the doors are tried again, `JOIN_ROUNDS` rounds in all, a second apart and
 * then two: an admission is idempotent (a member already admitted is
 * welcomed again), so a retry after an answer that came too late is safe
 */
export async function knock (options: { identity: Identity, psk: Uint8Array, meshId: string, doors: string[], request: JoinRequestMessage, signal?: AbortSignal, timeoutMs?: number }): Promise<JoinResponseMessage> {
  const { multiaddr } = await import('@multiformats/multiaddr')
  const client = await createLibp2p({
    privateKey: options.identity.privateKey,
    addresses: { listen: [] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [streamMuxer()],
    connectionProtector: preSharedKey({ psk: options.psk })
  })
  const failures: string[] = []
  try {
    for (let round = 0; round < JOIN_ROUNDS; round++) {
      if (round > 0) await new Promise((resolve) => setTimeout(resolve, round * 1000))
      let slow = false
      for (const door of options.doors) {
        const signal = options.signal ?? AbortSignal.timeout(options.timeoutMs ?? JOIN_TIMEOUT)
        try {
          const stream = await client.dialProtocol(multiaddr(door), protocols.join(options.meshId), { signal })
          const lp = lpStream(stream, { maxDataLength: MAX_FRAME_BYTES })
          await lp.write(encodeMessage(options.request), { signal })
          const response = decodeMessage((await lp.read({ signal })).subarray(), { types: ['join-response'] }) as JoinResponseMessage
          await stream.close().catch(() => {})
          return response
        } catch (err) {
          // no answer in time: a busy or starved door, worth asking again; a refusal or a bad answer is not
          if (signal.aborted && options.signal?.aborted !== true) slow = true
          failures.push(`${door}: ${messageOf(err)}${round > 0 ? ` (try ${round + 1})` : ''}`)
        }
      }
      if (!slow || options.signal?.aborted === true) break
    }
  } finally {
    await client.stop()
  }
  return { type: 'join-response', ok: false, code: 'unreachable', error: `No member could be reached at the invite's addresses (${failures.join('; ')}); check that a member runs "minga up" and that its port is reachable from here` }
}

/** rounds of tries at the invite's doors while one does not answer in time */
export const JOIN_ROUNDS = 3
