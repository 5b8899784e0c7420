/**
 * The forward protocol's messages (`protocols.forward`): the routing mesh's
 * one stream per forwarded connection. The node that accepted the
 * connection sends one `forward` message — which service, replica and
 * container port, how the connection came in, the client's address for the
 * PROXY protocol — and the replica's node answers once, with `forward-ok`
 * when it is connected to the container or an `error` message (codes
 * `ForwardErrorCode`) before any byte of the client flowed, so the opener
 * can try another replica. From then on the stream carries the
 * connection's raw bytes both ways. Wire messages (wire.ts): type first, a
 * size limit per type, every field checked.
 */
import { isIP } from 'node:net'
import { fail, object, pattern, whole } from './wire-check.js'

/** how the connection reached the forwarder: a published port, a shared web port by Host or SNI, a service name */
export type ForwardVia = 'port' | 'web' | 'name'

export interface Endpoint {
  /** IPv4 or IPv6, as text */
  address: string
  port: number
}

export interface ForwardRequestMessage {
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

/** the replica's node is connected to the container `replica`: the client's bytes may flow */
export interface ForwardOkMessage {
  type: 'forward-ok'
  replica: number
}

export type ForwardMessage = ForwardRequestMessage | ForwardOkMessage

/**
 * why a replica's node refused a forward (the `code` of its `error`
 * answer): the opener tries another replica for every code but `forbidden`
 * and `bad-request`, which another node would repeat
 */
export type ForwardErrorCode = 'no-replica' | 'refused' | 'forbidden' | 'bad-request'
export const FORWARD_ERROR_CODES: readonly ForwardErrorCode[] = ['no-replica', 'refused', 'forbidden', 'bad-request']

export const MAX_FORWARD_MESSAGE_BYTES = 1024
export const FORWARD_MESSAGE_BYTES = { forward: MAX_FORWARD_MESSAGE_BYTES, 'forward-ok': 128 } as const

const VIAS = new Set<ForwardVia>(['port', 'web', 'name'])
const SERVICE_ID_PATTERN = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\/[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/
const HOST_PATTERN = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/
const service = (value: unknown, path: string): string => pattern(value, path, SERVICE_ID_PATTERN, 'is not a service id (org/name)')

function endpoint (value: unknown, path: string): Endpoint {
  const record = object(value, path, new Set(['address', 'port']))
  if (typeof record.address !== 'string' || record.address.length > 45 || isIP(record.address) === 0) fail(`${path}.address`, 'is not an IPv4 or IPv6 address')
  return { address: record.address, port: whole(record.port, `${path}.port`, 0, 65535) }
}

/** each forward message's checker: the clean message, or InvalidMessageError naming the field */
export const forwardCheckers: { [T in ForwardMessage['type']]: (value: unknown) => Extract<ForwardMessage, { type: T }> } = {
  forward: (value) => {
    const record = object(value, 'forward', new Set(['type', 'service', 'replica', 'port', 'via', 'caller', 'host', 'client', 'local']))
    if (typeof record.via !== 'string' || !VIAS.has(record.via as ForwardVia)) fail('forward.via', 'is port, web or name')
    const message: ForwardRequestMessage = {
      type: 'forward',
      service: service(record.service, 'forward.service'),
      replica: whole(record.replica, 'forward.replica', 0, 1_000_000),
      port: whole(record.port, 'forward.port', 1, 65535),
      via: record.via as ForwardVia,
      client: endpoint(record.client, 'forward.client'),
      local: endpoint(record.local, 'forward.local')
    }
    if (record.caller !== undefined) message.caller = service(record.caller, 'forward.caller')
    if (record.host !== undefined) message.host = pattern(record.host, 'forward.host', HOST_PATTERN, 'is not a DNS name in lower case')
    if (message.via === 'name' && message.caller === undefined) fail('forward.caller', 'is missing: a forward by name says which service calls')
    if (message.via === 'web' && message.host === undefined) fail('forward.host', 'is missing: a forward by Host or SNI says which host name')
    return message
  },
  'forward-ok': (value) => {
    const record = object(value, 'forward-ok', new Set(['type', 'replica']))
    return { type: 'forward-ok', replica: whole(record.replica, 'forward-ok.replica', 0, 1_000_000) }
  }
}
