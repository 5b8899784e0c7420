/**
 * The forward protocol's two messages (protocols.forward). The node that
 * accepted a connection opens a stream to the node of the replica it chose
 * and sends one `forward` frame: which service, replica and container port,
 * how the connection came in, and the client's address (for the PROXY
 * protocol). The replica's node answers with one frame — `forward-ok` once
 * it is connected to the container, or an error before any byte of the
 * client flowed, so the opener can try another replica — and from then on
 * the stream carries the connection's raw bytes both ways.
 *
 * JSON, at most MAX_FORWARD_FRAME_BYTES, every field checked.
 */
import { isIP } from 'node:net'
import { isServiceId } from '../logs-wire.js'

/** how the connection reached the forwarder: a published port, a shared web port by Host or SNI, a service name */
export type ForwardVia = 'port' | 'web' | 'name'

export interface Endpoint {
  /** IPv4 or IPv6, as text */
  address: string
  port: number
}

export interface ForwardRequest {
  type: 'forward'
  /** `org/name` */
  service: string
  /** the replica the opener chose; the replica's node may serve the connection with another of its healthy replicas */
  replica: number
  /** the container port to connect to */
  port: number
  via: ForwardVia
  /** `via: name`: the service whose container connected (`org/name`); the answering node checks it may reach `service` */
  caller?: string
  /** `via: web`: the Host or SNI name the client asked for */
  host?: string
  /** the client, as the accepting node saw it (the PROXY protocol's source) */
  client: Endpoint
  /** where the client connected to (the PROXY protocol's destination) */
  local: Endpoint
}

/** why a replica's node refused a forward: the opener tries another replica for every code but `forbidden` and `bad-request` */
export type ForwardErrorCode = 'no-replica' | 'refused' | 'forbidden' | 'bad-request'

export type ForwardAnswer =
  | { type: 'forward-ok', replica: number }
  | { type: 'error', code: ForwardErrorCode, message: string }

export const MAX_FORWARD_FRAME_BYTES = 1024
const MAX_MESSAGE_CHARS = 400
const VIAS: readonly ForwardVia[] = ['port', 'web', 'name']
const CODES: readonly ForwardErrorCode[] = ['no-replica', 'refused', 'forbidden', 'bad-request']
const HOST_PATTERN = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/

export class ForwardProtocolError extends Error {
  constructor (readonly code: ForwardErrorCode, message: string) {
    super(message)
    this.name = 'ForwardProtocolError'
  }
}

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

export function encodeForward (message: ForwardRequest | ForwardAnswer): Uint8Array {
  const bytes = encoder.encode(JSON.stringify(message))
  if (bytes.byteLength > MAX_FORWARD_FRAME_BYTES) throw new ForwardProtocolError('bad-request', `A forward frame is at most ${MAX_FORWARD_FRAME_BYTES} bytes`)
  return bytes
}

/** a request from the wire, checked field by field; throws ForwardProtocolError('bad-request') */
export function decodeForwardRequest (data: Uint8Array): ForwardRequest {
  const value = parse(data, 'forward request')
  if (value.type !== 'forward') throw bad('Expected a forward request')
  for (const key of Object.keys(value)) {
    if (!['type', 'service', 'replica', 'port', 'via', 'caller', 'host', 'client', 'local'].includes(key)) throw bad(`A forward request has no field ${JSON.stringify(key.slice(0, 40))}`)
  }
  const request: ForwardRequest = {
    type: 'forward',
    service: serviceId(value.service, 'service'),
    replica: whole(value.replica, 'replica', 0, 1_000_000),
    port: whole(value.port, 'port', 1, 65535),
    via: VIAS.includes(value.via) ? value.via : fail('via is port, web or name'),
    client: endpoint(value.client, 'client'),
    local: endpoint(value.local, 'local')
  }
  if (value.caller !== undefined) request.caller = serviceId(value.caller, 'caller')
  if (value.host !== undefined) {
    if (typeof value.host !== 'string' || value.host.length > 253 || !HOST_PATTERN.test(value.host)) fail('host is a DNS name in lower case')
    request.host = value.host
  }
  if (request.via === 'name' && request.caller === undefined) fail('A forward by name says which service calls')
  if (request.via === 'web' && request.host === undefined) fail('A forward by Host or SNI says which host name')
  return request
}

/** the answer from the wire; throws ForwardProtocolError with the answer's code when it is an error */
export function decodeForwardAnswer (data: Uint8Array): { type: 'forward-ok', replica: number } {
  const value = parse(data, 'forward answer')
  if (value.type === 'forward-ok') return { type: 'forward-ok', replica: whole(value.replica, 'replica', 0, 1_000_000) }
  if (value.type === 'error' && CODES.includes(value.code) && typeof value.message === 'string') {
    throw new ForwardProtocolError(value.code, value.message.slice(0, MAX_MESSAGE_CHARS))
  }
  throw bad('The replica\'s node answered something that is not a forward answer')
}

function parse (data: Uint8Array, what: string): Record<string, any> {
  if (data.byteLength > MAX_FORWARD_FRAME_BYTES) throw bad(`A ${what} is at most ${MAX_FORWARD_FRAME_BYTES} bytes`)
  let value: unknown
  try {
    value = JSON.parse(decoder.decode(data))
  } catch {
    throw bad(`A ${what} is JSON`)
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad(`A ${what} is a JSON object`)
  return value as Record<string, any>
}

function serviceId (value: unknown, what: string): string {
  if (typeof value !== 'string' || value.length > 130 || !isServiceId(value)) fail(`${what} is a service id (org/name)`)
  return value as string
}

function whole (value: unknown, what: string, min: number, max: number): number {
  if (!Number.isSafeInteger(value) || (value as number) < min || (value as number) > max) fail(`${what} is a whole number from ${min} to ${max}`)
  return value as number
}

function endpoint (value: any, what: string): Endpoint {
  if (typeof value !== 'object' || value === null) fail(`${what} is an address and a port`)
  if (Object.keys(value).some(k => k !== 'address' && k !== 'port')) fail(`${what} has only an address and a port`)
  if (typeof value.address !== 'string' || value.address.length > 45 || isIP(value.address) === 0) fail(`${what}.address is an IPv4 or IPv6 address`)
  return { address: value.address, port: whole(value.port, `${what}.port`, 0, 65535) }
}

function fail (message: string): never {
  throw bad(message)
}

function bad (message: string): ForwardProtocolError {
  return new ForwardProtocolError('bad-request', message)
}
